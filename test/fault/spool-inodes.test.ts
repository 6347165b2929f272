// The spool out of inodes (a tmpfs with 24 inodes, root only): spool files are made ahead of time,
// so the failure shows when a refill of the pool cannot create files. The writers waiting for one
// get a temporary 4xx (never 250), the worker keeps running, and once inodes are back the senders'
// retries are handled, each message exactly once.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../harness/exec.js';
import { makeMessage, stripFirstReceived } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';
import { tempDir } from '../helpers/app.js';
import { HAVE_CLI, IS_ROOT, readLedger, sendEach, sha, startWorker, type Worker } from './kit.js';

let dir = '';
let mounted = false;
let worker: Worker | null = null;

beforeAll(async () => {
  if (!IS_ROOT || !HAVE_CLI) return;
  dir = tempDir('mi-fault-inodes-');
  mkdirSync(join(dir, 'spool'));
  const m = await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,nr_inodes=24', 'tmpfs', join(dir, 'spool')]);
  mounted = m.code === 0;
});
afterAll(async () => {
  await worker?.kill9();
  if (mounted) await run('umount', [join(dir, 'spool')]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!IS_ROOT || !HAVE_CLI)('spool out of inodes', () => {
  it('4xx when no spool file can be made, all handled once after inodes return', async () => {
    expect(mounted, 'mount -t tmpfs failed').toBe(true);
    const port = await freePort();
    const out = join(dir, 'out');
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(
      cfg,
      JSON.stringify({
        store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
        log: { level: 'warn' },
        push: { listen: `127.0.0.1:${port}`, domains: ['example.test'] },
        routes: [{ name: 'all', handlers: ['md'] }],
        handlers: { md: { maildir: { path: out } } },
      }),
    );
    worker = startWorker(['run', '--push', '-c', cfg]);
    await waitFor(() => isListening(port), { timeoutMs: 20_000, what: 'listener' });
    const msgs = Array.from({ length: 40 }, () => makeMessage({ to: 'in@example.test', bodyBytes: 2_000 }));
    const codes = new Map<string, number>();
    const refused = await sendEach(port, msgs, codes);
    expect(refused.length, 'some sends must find no spool file').toBeGreaterThan(0);
    expect(refused.length, 'the files made before the inodes ran out were used').toBeLessThan(msgs.length);
    for (const m of refused) expect(codes.get(m.token), m.token).toBe(451);
    expect(worker.output()).toMatch(/ENOSPC/);
    expect(worker.child.exitCode).toBeNull();
    const inLedger = new Set(readLedger(join(dir, 'db.sqlite')).map((r) => r.sha256));
    for (const m of msgs) if (codes.get(m.token) === 250) expect(inLedger.has(sha(m.raw)), `250 without row ${m.token}`).toBe(true); // prettier-ignore

    // Inodes come back (same worker, no restart): the senders' retries are accepted.
    const r = await run('mount', ['-o', 'remount,nr_inodes=10000', join(dir, 'spool')]);
    expect(r.code, 'remount').toBe(0);
    await sendEach(port, refused, codes);
    expect(msgs.every((m) => codes.get(m.token) === 250)).toBe(true);
    const files = () => (existsSync(join(out, 'new')) ? readdirSync(join(out, 'new')) : []);
    await waitFor(() => files().length >= msgs.length, { timeoutMs: 30_000, intervalMs: 100, what: 'all handled' }); // prettier-ignore
    await worker.stop();
    const got = files().map((f) => sha(stripFirstReceived(readFileSync(join(out, 'new', f)))));
    expect(got).toHaveLength(msgs.length);
    expect(new Set(got)).toEqual(new Set(msgs.map((m) => sha(m.raw))));
  }, 90_000);
});
