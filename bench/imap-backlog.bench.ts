// 10,000-message backlog through the real worker (node dist/cli/main.js run, file handler):
// prints messages/s to handled, time to all settled (\Seen) on the server, and the worker's peak
// RSS (VmHWM from /proc/<pid>/status). IMAP_BENCH_N changes the count.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot } from '../test/harness/dovecot.js';
import { runOk } from '../test/harness/exec.js';
import { waitFor } from '../test/harness/wait.js';
import { message, sourceConfig } from '../test/unit/sources/imap/kit.js';
// @ts-expect-error plain JS helper, no types
import { nodeFlags } from './node-flags.js';

const N = Number(process.env.IMAP_BENCH_N ?? 10_000);
let dc: Dovecot;
let dir = '';

beforeAll(async () => {
  dc = await startDovecot();
  dir = await mkdtemp(join(tmpdir(), 'mi-imap-bench-'));
});
afterAll(async () => {
  await dc.close();
  await rm(dir, { recursive: true, force: true });
});

async function vmHwmKb(pid: number): Promise<number> {
  const s = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? NaN);
}

it(`backlog of ${N} messages`, async () => {
  const u = uniqueUser('bench');
  await dc.addUser(u.user, u.password);
  // Mostly 1-16 KB, every 500th one 2 MB (streamed through download()).
  const raws = Array.from({ length: N }, (_, i) =>
    message(
      'bench',
      i,
      i % 500 === 499
        ? `${randomBytes(1_500_000).toString('base64')}\r\n`
        : `${randomBytes(500 + (i % 12_000)).toString('base64')}\r\n`,
    ),
  );
  const bytes = raws.reduce((a, b) => a + b.length, 0);
  await dc.saveMany(u.user, 'INBOX', raws);
  const out = join(dir, 'out');
  const cfg = join(dir, 'bench.yaml');
  await writeFile(
    cfg,
    JSON.stringify({
      store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
      log: { level: 'warn' },
      pipeline: { concurrency: 16, stripReplies: false },
      sources: { s: { ...sourceConfig(dc, u), schedule: '*/10 * * * * *' } },
      routes: [{ name: 'all', handlers: ['out'] }],
      handlers: { out: { file: { path: out } } },
    }),
  );
  const t0 = Date.now();
  const child = spawn(process.execPath, [...nodeFlags(), resolve('dist/cli/main.js'), 'run', '-c', cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  let peak = 0;
  const count = async () =>
    (await readdir(out).catch(() => [] as string[])).filter((n) => n.endsWith('.eml')).length;
  await waitFor(
    async () => {
      peak = Math.max(peak, await vmHwmKb(child.pid!));
      return (await count()) >= N;
    },
    { timeoutMs: 1_500_000, intervalMs: 500, what: `${N} handled` },
  );
  const tHandled = Date.now() - t0;
  const unseen = async () =>
    (
      await runOk('doveadm', ['-c', dc.configFile, 'search', '-u', u.user, 'mailbox', 'INBOX', 'unseen'])
    ).stdout
      .toString()
      .trim();
  await waitFor(async () => (await unseen()) === '', {
    timeoutMs: 600_000,
    intervalMs: 500,
    what: 'all \\Seen',
  });
  const tSettled = Date.now() - t0;
  peak = Math.max(peak, await vmHwmKb(child.pid!));
  child.kill('SIGTERM');
  await exited;
  console.log(
    `[imap-backlog] n=${N} bytes=${(bytes / 1e6).toFixed(1)}MB handled_in=${(tHandled / 1000).toFixed(1)}s ` +
      `rate=${(N / (tHandled / 1000)).toFixed(0)} msg/s settled_in=${(tSettled / 1000).toFixed(1)}s peak_rss=${(peak / 1024).toFixed(0)}MB`,
  );
  expect(await count()).toBe(N);
});
