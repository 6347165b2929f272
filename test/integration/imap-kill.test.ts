// kill -9 of the worker (node dist/cli/main.js run) at random points while 2,000 messages are
// processed, then a clean restart: every message handled exactly once (file handler output named
// by idempotency key: distinct files, no two with the same sha256) and all settled on the server.
// Needs `npm run build` first (dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { waitFor } from '../harness/wait.js';
import { message, sourceConfig } from '../unit/sources/imap/kit.js';

const CLI = resolve('dist/cli/main.js');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dc: Dovecot;
let dir = '';
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dc = await startDovecot();
  dir = await mkdtemp(join(tmpdir(), 'mi-imap-kill-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await dc.close();
  await rm(dir, { recursive: true, force: true });
});

function startWorker(cfg: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'run', '-c', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_FORMAT: 'json' },
  });
  children.add(child);
  child.stderr?.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  void exited.then(() => children.delete(child));
  return { child, exited };
}

async function outputShas(out: string): Promise<string[]> {
  const names = (await readdir(out).catch(() => [] as string[])).filter((n) => n.endsWith('.eml'));
  return Promise.all(names.map(async (n) => sha(await readFile(join(out, n)))));
}

describe.skipIf(!existsSync(CLI))('imap worker under kill -9', () => {
  it('handles 2,000 messages exactly once across random kills and settles all', async () => {
    const u = uniqueUser('kill');
    await dc.addUser(u.user, u.password);
    const raws = Array.from({ length: 2000 }, (_, i) => message('kill', i));
    await dc.saveMany(u.user, 'INBOX', raws);
    const out = join(dir, 'out');
    const cfg = join(dir, 'mailintake.json.yaml');
    const source = { ...sourceConfig(dc, u), schedule: '*/2 * * * * *' };
    await writeFile(
      cfg,
      JSON.stringify({
        store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
        log: { level: 'warn' },
        pipeline: { concurrency: 16, stripReplies: false },
        sources: { s: source },
        routes: [{ name: 'all', handlers: ['out'] }],
        handlers: { out: { file: { path: out } } },
      }),
    );
    let kills = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && kills < 12) {
      const w = startWorker(cfg);
      const before = (await outputShas(out)).length;
      // Kill at a random point after the worker made some progress (or after a short while).
      const wait = 200 + Math.floor(Math.random() * 1500);
      await waitFor(async () => (await outputShas(out)).length > before || w.child.exitCode !== null, {
        timeoutMs: 15_000,
        what: 'progress',
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, wait));
      w.child.kill('SIGKILL');
      await w.exited;
      kills++;
      if ((await outputShas(out)).length >= raws.length) break;
    }
    const final = startWorker(cfg);
    await waitFor(async () => (await dc.list(u.user, 'INBOX')).every((m) => m.flags.includes('\\Seen')), {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'all messages \\Seen on the server',
    });
    final.child.kill('SIGTERM');
    await final.exited;
    const shas = await outputShas(out);
    expect(kills).toBeGreaterThan(0);
    expect(shas.length).toBe(raws.length);
    expect(new Set(shas).size).toBe(raws.length);
    expect(new Set(shas)).toEqual(new Set(raws.map(sha)));
    const store = openSqliteStore(join(dir, 'db.sqlite'));
    try {
      expect(store.unsettled('s', 10)).toHaveLength(0);
      const c = store.counts().byStatus;
      expect(c.delivered).toBe(raws.length);
      expect(c.received ?? 0).toBe(0);
      expect(c.processing ?? 0).toBe(0);
    } finally {
      store.close();
    }
    console.log(`[imap-kill] ${kills} kills; ${shas.length} distinct outputs`);
  }, 180_000);
});
