// A full disk under the spool (a 2 MB tmpfs, root only): the worker keeps running, SMTP answers a
// temporary 4xx (never 250) for what it cannot store, POP3 deletes nothing it could not record, and
// once space is back every message is handled exactly once (clients resend what got no 250).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../harness/exec.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { makeMessage, stripFirstReceived } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';
import { genMessage } from '../helpers/gen.js';
import { tempDir } from '../helpers/app.js';
import { HAVE_CLI, IS_ROOT, readLedger, sendEach, sha, startWorker, type Worker } from './kit.js';

let dc: Dovecot;
let dir = '';
let mounted = false;
let worker: Worker | null = null;

beforeAll(async () => {
  if (!IS_ROOT || !HAVE_CLI) return;
  dc = await startDovecot();
  dir = tempDir('mi-fault-disk-');
  mkdirSync(join(dir, 'spool'));
  const m = await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', join(dir, 'spool')]);
  mounted = m.code === 0;
});
afterAll(async () => {
  await worker?.kill9();
  if (mounted) await run('umount', [join(dir, 'spool')]);
  await dc?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!IS_ROOT || !HAVE_CLI)('spool on a full disk', () => {
  it('4xx instead of 250, no DELE without a row, all handled once after space returns', async () => {
    expect(mounted, 'mount -t tmpfs failed').toBe(true);
    const u = uniqueUser('disk');
    await dc.addUser(u.user, u.password);
    const pops = Array.from({ length: 20 }, (_, i) => genMessage(i, { tag: 'disk', size: 20_000 }));
    await dc.saveMany(u.user, 'INBOX', pops);
    const port = await freePort();
    const out = join(dir, 'out');
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(
      cfg,
      JSON.stringify({
        store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
        log: { level: 'warn' },
        pipeline: { backoffBase: 100, backoffMax: 500 },
        sources: {
          po: {
            pop3: { host: '127.0.0.1', port: dc.ports.pop3, secure: false, starttls: false, user: u.user, password: u.password }, // prettier-ignore
            schedule: '* * * * * *',
          },
        },
        push: { listen: `127.0.0.1:${port}`, domains: ['example.test'] },
        routes: [{ name: 'all', handlers: ['md'] }],
        handlers: { md: { maildir: { path: out } } },
      }),
    );
    // Leave ~50 KB free before the worker starts: a couple of messages fit, most do not.
    const filler = join(dir, 'spool', 'filler');
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024 - 50 * 1024));
    worker = startWorker(['run', '--push', '-c', cfg]);
    await waitFor(() => isListening(port), { timeoutMs: 20_000, what: 'listener' });
    const smtp = Array.from({ length: 20 }, () => makeMessage({ to: 'in@example.test', bodyBytes: 20_000 }));
    const codes = new Map<string, number>();
    const refused = await sendEach(port, smtp, codes);
    expect(refused.length, 'some sends must hit the full disk').toBeGreaterThan(0);
    for (const m of refused) expect(codes.get(m.token)! >= 400 && codes.get(m.token)! < 500, `${codes.get(m.token)}`).toBe(true); // prettier-ignore
    // Let POP3 runs hit the full spool a few times (it must not DELE what it could not store).
    await waitFor(() => (worker!.output().match(/ENOSPC|no space/gi) ?? []).length >= 3, {
      timeoutMs: 15_000,
      what: 'the worker reporting ENOSPC',
    });
    expect(worker.child.exitCode).toBeNull();
    await worker.kill9();
    const rows = readLedger(join(dir, 'db.sqlite'));
    const inLedger = new Set(rows.map((r) => r.sha256));
    for (const m of smtp) if (codes.get(m.token) === 250) expect(inLedger.has(sha(m.raw)), `250 without row ${m.token}`).toBe(true); // prettier-ignore
    const left = new Set((await dc.list(u.user, 'INBOX')).map((m) => m.sha256));
    const final = new Set(rows.filter((r) => r.status === 'delivered' || r.status === 'skipped').map((r) => r.sha256)); // prettier-ignore
    for (const p of pops)
      if (!left.has(sha(p))) expect(final.has(sha(p)), 'DELE without a final row').toBe(true);
    expect(left.size, 'the full disk held POP3 mail back').toBeGreaterThan(0);

    // Space comes back: restart, resend what got no 250, everything ends handled once.
    rmSync(filler);
    worker = startWorker(['run', '--push', '-c', cfg]);
    await waitFor(() => isListening(port), { timeoutMs: 20_000, what: 'listener' });
    await sendEach(port, refused, codes);
    expect(smtp.every((m) => codes.get(m.token) === 250)).toBe(true);
    const files = () => (existsSync(join(out, 'new')) ? readdirSync(join(out, 'new')) : []);
    await waitFor(async () => files().length >= 40 && (await dc.list(u.user, 'INBOX')).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'all 40 handled and the POP3 box empty',
    });
    await worker.stop();
    const got = files().map((f) => {
      const raw = readFileSync(join(out, 'new', f));
      return sha(raw.subarray(0, 9).toString() === 'Received:' ? stripFirstReceived(raw) : raw);
    });
    expect(got).toHaveLength(40);
    expect(new Set(got)).toEqual(new Set([...pops.map(sha), ...smtp.map((m) => sha(m.raw))]));
  }, 150_000);
});
