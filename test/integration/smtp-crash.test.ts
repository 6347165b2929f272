// kill -9 of the listener process (`node dist/cli/main.js run --push`) while 8 clients send 2,000
// messages: every message that got 250 is handled exactly once; clients retry whatever did not get
// a 250 (connection refused or cut); at the end handled == accepted == 2,000 and the ledger shows
// each message delivered once (a copy committed just before the kill, re-sent by the client, is a
// duplicate: skipped). Needs `npm run build` first (npm test does it).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeMessage, RawSmtp } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';

const MAIN = join(process.cwd(), 'dist/cli/main.js');
const TOTAL = 2000;
const CLIENTS = 8;
const KILL_AT = [300, 900, 1500];

function startListener(cfg: string): ChildProcess {
  const child = spawn(process.execPath, [MAIN, 'run', '--push', '-c', cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

describe('kill -9 of the push listener under load', () => {
  it('every 250 is handled exactly once; handled == accepted', { timeout: 240_000 }, async () => {
    expect(existsSync(MAIN), 'run `npm run build` first').toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'mi-smtp-crash-'));
    const port = await freePort();
    const cfg = join(dir, 'cfg.yaml');
    await writeFile(
      cfg,
      `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }
log: { level: warn }
push: { listen: "127.0.0.1:${port}", hostname: mx.test, domains: [example.test], maxClientsPerIp: 100 }
routes:
  - { name: all, handlers: [out] }
handlers:
  out: { file: { path: ${dir}/out } }
`,
    );
    let child = startListener(cfg);
    await waitFor(() => isListening(port), { timeoutMs: 20_000, what: 'listener up' });

    const msgs = Array.from({ length: TOTAL }, (_, i) =>
      makeMessage({ to: `u${i % 50}@example.test`, bodyBytes: 500 + ((i * 997) % 6000) }),
    );
    const queue = msgs.map((_, i) => i);
    const accepted = new Set<string>();
    let refusedOrCut = 0;
    let kills = 0;

    const killer = (async () => {
      for (const at of KILL_AT) {
        await waitFor(() => accepted.size >= at, { timeoutMs: 120_000, what: `${at} accepted` });
        const dead = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await dead;
        kills++;
        child = startListener(cfg);
      }
    })();

    const client = async (): Promise<void> => {
      let s: RawSmtp | null = null;
      for (let i = queue.shift(); i !== undefined;) {
        const m = msgs[i]!;
        try {
          if (!s || s.isClosed) {
            s = await RawSmtp.open(port);
            if ((await s.reply()).code !== 220) throw new Error('no banner');
            if ((await s.cmd('EHLO client.test')).code !== 250) throw new Error('EHLO');
          }
          const r = await s.send('s@client.test', [`u${i % 50}@example.test`], m.raw);
          if (r.code === 250) {
            accepted.add(m.token);
            i = queue.shift();
            continue;
          }
          throw new Error(`reply ${r.code}`);
        } catch {
          refusedOrCut++;
          s?.destroy();
          s = null;
          // the listener is being restarted: retry once it listens again (a real MTA would back off)
          await waitFor(() => isListening(port), {
            timeoutMs: 30_000,
            intervalMs: 20,
            what: 'listener back',
          });
        }
      }
      s?.end();
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await killer;
    expect(kills).toBe(KILL_AT.length);
    expect(accepted.size).toBe(TOTAL);

    // every accepted message ends up handled: one .eml per message, carrying its token
    const tokenOf = (raw: string): string | undefined => /^Subject: test (\w+)/m.exec(raw)?.[1];
    const handledTokens = async (): Promise<string[]> => {
      const files = (await readdir(join(dir, 'out')).catch(() => [] as string[])).filter((f) =>
        f.endsWith('.eml'),
      );
      return Promise.all(files.map(async (f) => tokenOf(await readFile(join(dir, 'out', f), 'latin1')) ?? f));
    };
    await waitFor(async () => (await handledTokens()).length >= TOTAL, {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'all handled',
    });
    const tokens = await handledTokens();
    expect(tokens).toHaveLength(TOTAL);
    expect(new Set(tokens).size).toBe(TOTAL);
    for (const t of accepted) expect(tokens.includes(t), t).toBe(true);

    const dead = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await dead;
    const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT status, COUNT(*) AS n FROM messages GROUP BY status').all() as Array<{
      status: string;
      n: number;
    }>;
    const perSha = db
      .prepare(
        `SELECT COUNT(*) AS n FROM (SELECT sha256 FROM messages WHERE status = 'delivered' GROUP BY sha256 HAVING COUNT(*) > 1)`,
      )
      .get() as { n: number };
    const skippedNotDup = db
      .prepare(`SELECT COUNT(*) AS n FROM messages WHERE status = 'skipped' AND (duplicate_of IS NULL)`)
      .get() as { n: number };
    db.close();
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    console.log(JSON.stringify({ kills, clientRetries: refusedOrCut, ledger: by }));
    expect(by.delivered).toBe(TOTAL);
    expect(perSha.n).toBe(0);
    expect(skippedNotDup.n).toBe(0);
    expect(Object.keys(by).every((s) => s === 'delivered' || s === 'skipped')).toBe(true);
  });
});
