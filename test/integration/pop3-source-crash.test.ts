// kill -9 during runs over 1,000 messages: `node dist/cli/main.js run -c cfg.yaml` (scheduled every
// second, maxPerRun 100 so kills land in fetch, handling, DELE and QUIT phases alike) is killed at
// rising delivery counts and restarted. After each kill every message gone from the server must be
// delivered/skipped in the ledger; at the end every message was delivered exactly once (sha256 of
// the Maildir files, no duplicates) and the mailbox is empty. Needs `npm run build` (dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { waitFor } from '../harness/wait.js';
import { genMessage } from '../helpers/gen.js';
import { REPO, tempDir } from '../helpers/app.js';

const N = 1000;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dc: Dovecot;
beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  await dc?.close();
});

function delivered(out: string): Buffer[] {
  const dir = join(out, 'new');
  return existsSync(dir) ? readdirSync(dir).map((f) => readFileSync(join(dir, f))) : [];
}

function startWorker(cfg: string, logFile: string): ChildProcess {
  const child = spawn(process.execPath, [join(REPO, 'dist/cli/main.js'), 'run', '-c', cfg], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_FORMAT: 'json' },
  });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  child.once('exit', () => writeFileSync(logFile, Buffer.concat(chunks), { flag: 'a' }));
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

describe('POP3 source: kill -9 and restart', () => {
  it(`1,000 messages: handled exactly once, deleted only after handling`, async () => {
    expect(existsSync(join(REPO, 'dist/cli/main.js')), 'run `npm run build` first').toBe(true);
    const u = uniqueUser('crash');
    await dc.addUser(u.user, u.password);
    const raws = Array.from({ length: N }, (_, i) => genMessage(i, { tag: 'crash' }));
    const want = new Set(raws.map(sha));
    await dc.saveMany(u.user, 'INBOX', raws);
    const dir = tempDir('mi-pop3-crash-');
    const out = join(dir, 'out');
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(
      cfg,
      [
        `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }`,
        'log: { level: info }',
        'sources:',
        '  box:',
        `    pop3: { host: 127.0.0.1, port: ${dc.ports.pop3}, secure: false, starttls: false, user: ${u.user}, password: ${u.password}, maxPerRun: 100, commandTimeout: 10s }`,
        '    schedule: "* * * * * *"',
        'routes: [{ name: all, handlers: [md] }]',
        `handlers: { md: { maildir: { path: ${out} } } }`,
        '',
      ].join('\n'),
    );
    const logFile = join(dir, 'worker.log');

    /** Every message no longer on the server is delivered/skipped (and settled dele) in the ledger. */
    const checkDeletions = async (): Promise<number> => {
      const server = new Set((await dc.list(u.user, 'INBOX')).map((m) => m.sha256));
      const store = openSqliteStore(join(dir, 'db.sqlite'));
      try {
        const ok = new Set(
          [...store.recent('delivered', 10_000), ...store.recent('skipped', 10_000)].map((r) => r.sha256),
        );
        const missing = [...want].filter((h) => !server.has(h) && !ok.has(h));
        expect(missing, 'deleted from the server without a delivered/skipped ledger row').toEqual([]);
      } finally {
        store.close();
      }
      return server.size;
    };

    // Kill points: at delivery counts (mid-fetch/handling), right after the server lost messages
    // (a QUIT committed: kills land in the next run or the ledger update), and at fixed delays after
    // start (fault injection, not synchronisation).
    const kills: Array<{ deliveries?: number; serverBelow?: number; afterMs?: number }> = [
      { deliveries: 60 },
      { serverBelow: 950 },
      { afterMs: 700 },
      { deliveries: 330 },
      { serverBelow: 700 },
      { afterMs: 1_300 },
      { deliveries: 620 },
      { serverBelow: 450 },
      { afterMs: 900 },
      { serverBelow: 250 },
    ];
    let serverCount = N;
    for (const k of kills) {
      const child = startWorker(cfg, logFile);
      const t0 = Date.now();
      await waitFor(
        async () => {
          if (child.exitCode !== null) return true;
          if (k.deliveries !== undefined) return delivered(out).length >= k.deliveries;
          if (k.serverBelow !== undefined) return (await dc.list(u.user, 'INBOX')).length < k.serverBelow;
          return Date.now() - t0 >= (k.afterMs ?? 0);
        },
        { timeoutMs: 60_000, intervalMs: 20, what: `kill point ${JSON.stringify(k)}` },
      );
      expect(child.exitCode, readLog(logFile)).toBeNull();
      await kill9(child);
      serverCount = await checkDeletions();
    }
    expect(serverCount).toBeLessThan(N);
    const child = startWorker(cfg, logFile);
    try {
      await waitFor(async () => delivered(out).length >= N && (await dc.list(u.user, 'INBOX')).length === 0, {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: 'all delivered and the mailbox empty',
      });
    } finally {
      await kill9(child);
    }
    expect(await checkDeletions()).toBe(0);
    const files = delivered(out).map(sha);
    expect(files.length).toBe(N); // no duplicates
    expect(new Set(files)).toEqual(want); // each exactly once, byte-identical
    const store = openSqliteStore(join(dir, 'db.sqlite'));
    try {
      const rows = store.recent('delivered', 10_000);
      expect(rows.length).toBe(N);
      expect(rows.filter((r) => r.settleAction !== 'dele' && r.settleAction !== 'gone')).toEqual([]);
    } finally {
      store.close();
    }
  }, 300_000);
});

function readLog(f: string): string {
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-20).join('\n') : '';
}
