// SIGTERM to the worker (`node dist/cli/main.js run --push`) while 500 messages are in flight (300
// in the IMAP mailbox, 200 arriving over SMTP from nodemailer) with a slow command handler: the
// process exits 0 within shutdownTimeout; after a restart everything is handled exactly once. The
// handler writes one file per invocation (mktemp), so a second call for the same message would show
// as a second file with the same sha256; SMTP messages refused during shutdown (421 / connection
// refused) are sent again to the restarted worker, as an MTA would.
// Needs `npm run build` first (dist/).
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { makeMessage, stripFirstReceived } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';
import { genMessage } from '../helpers/gen.js';
import { CLI, countBySha, killAll, readOutputs, sha, spawnWorker, writeConfig } from '../unit/service/kit.js';

const SHUTDOWN_TIMEOUT_MS = 5_000;
const IMAP_COUNT = 300;
const SMTP_COUNT = 200;
let dc: Dovecot;
let dir = '';

beforeAll(async () => {
  dc = await startDovecot();
  dir = await mkdtemp(join(tmpdir(), 'mi-service-stop-'));
});
afterAll(async () => {
  killAll();
  await dc?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Sends each message not yet accepted, one pass at a time; records which got a 250. */
function smtpSender(port: number, raws: readonly Buffer[]) {
  const accepted = new Set<number>();
  let refusals = 0;
  const transport = () =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 4,
      maxMessages: 50,
      connectionTimeout: 2_000,
      greetingTimeout: 2_000,
      socketTimeout: 10_000,
    });
  const pass = async (): Promise<void> => {
    const t = transport();
    const todo = raws.map((_, i) => i).filter((i) => !accepted.has(i));
    await Promise.all(
      todo.map(async (i) => {
        try {
          const info = await t.sendMail({
            envelope: { from: 's@client.test', to: [`load+${i}@example.test`] },
            raw: raws[i]!,
          });
          if (/^250 /.test(info.response)) accepted.add(i);
        } catch {
          refusals++; // 421 during shutdown, connection refused while down: try again later
        }
      }),
    );
    t.close();
  };
  return {
    accepted,
    refusals: () => refusals,
    /** One pass over everything not yet accepted. */
    pass,
  };
}

describe.skipIf(!existsSync(CLI))('graceful shutdown of the worker under load', () => {
  it('SIGTERM with 500 messages in flight: exits within shutdownTimeout, nothing lost or handled twice after restart', async () => {
    const u = uniqueUser('svc-stop');
    await dc.addUser(u.user, u.password);
    const imapRaws = Array.from({ length: IMAP_COUNT }, (_, i) =>
      genMessage(i, { tag: 'svc-stop', size: 3_000 }),
    );
    await dc.saveMany(u.user, 'INBOX', imapRaws);
    const smtpRaws = Array.from({ length: SMTP_COUNT }, () => makeMessage({ to: 'load@example.test' }).raw);
    const all = new Set([...imapRaws, ...smtpRaws].map(sha));

    const d = await mkdtemp(join(dir, 'w-'));
    const out = join(d, 'out');
    const pushPort = await freePort();
    const db = join(d, 'db.sqlite');
    const file = await writeConfig(join(d, 'cfg.yaml'), {
      store: { sqlite: db, spool: join(d, 'spool'), attachments: join(d, 'att') },
      log: { level: 'info' },
      pipeline: { concurrency: 4, stripReplies: false },
      shutdownTimeout: SHUTDOWN_TIMEOUT_MS,
      push: { listen: `127.0.0.1:${pushPort}`, domains: ['example.test'] },
      sources: {
        mailbox: {
          imap: {
            host: '127.0.0.1',
            port: dc.ports.imap,
            secure: false,
            starttls: true,
            user: u.user,
            password: u.password,
            tls: { caFile: dc.caFile, servername: 'localhost' },
            fetchBatch: 50,
          },
          schedule: '*/2 * * * * *',
          onSuccess: { seen: true },
        },
      },
      routes: [{ name: 'all', handlers: ['slow'] }],
      handlers: {
        // One new file per invocation (never overwritten): a second call for a message shows.
        slow: {
          command: {
            argv: [
              'sh',
              '-c',
              'sleep 0.02; f=$(mktemp "$OUT/call.XXXXXXXX") && cat > "$f" && mv "$f" "$f.eml"',
            ],
            input: 'raw',
            env: { OUT: out },
          },
        },
      },
    });
    await mkdir(out, { recursive: true });
    const delivered = async () => (await readOutputs(out)).length;

    // 1. Start, load it, SIGTERM while most of the 500 are still to be handled.
    const w1 = spawnWorker(file, ['--push']);
    await waitFor(() => isListening(pushPort), { timeoutMs: 20_000, what: 'push listener' });
    const sender = smtpSender(pushPort, smtpRaws);
    const firstPass = sender.pass();
    await waitFor(async () => (await delivered()) >= 60, {
      timeoutMs: 30_000,
      intervalMs: 20,
      what: '60 handled',
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${w1.logTail()}`);
    });
    const atSignal = await delivered();
    const sentAt = Date.now();
    w1.child.kill('SIGTERM');
    const exit1 = await w1.exited;
    const tookMs = exit1.at - sentAt;
    await firstPass;
    const afterFirst = await delivered();
    expect(exit1.code, w1.logTail()).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(atSignal).toBeLessThan(all.size / 2); // really in flight when signalled
    expect(afterFirst).toBeLessThan(all.size);

    // Every SMTP message that got its 250 must be in the ledger (durable before the reply).
    const store1 = openSqliteStore(db);
    let ledgerAfterFirst: Record<string, number>;
    try {
      ledgerAfterFirst = store1.counts().byStatus;
      const known = store1.counts();
      expect(known.byStatus.processing ?? 0).toBe(0); // graceful: nothing left mid-handling
    } finally {
      store1.close();
    }
    const acceptedFirst = sender.accepted.size;

    // 2. Restart; resend what was refused; let it finish.
    const w2 = spawnWorker(file, ['--push']);
    await waitFor(() => isListening(pushPort), { timeoutMs: 20_000, what: 'push listener after restart' });
    for (let i = 0; i < 5 && sender.accepted.size < SMTP_COUNT; i++) await sender.pass();
    expect(sender.accepted.size).toBe(SMTP_COUNT);
    await waitFor(async () => (await delivered()) >= all.size, {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `${all.size} handled`,
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${w2.logTail()}`);
    });
    await waitFor(async () => (await dc.list(u.user, 'INBOX')).every((m) => m.flags.includes('\\Seen')), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'all IMAP messages \\Seen on the server',
    });
    w2.child.kill('SIGTERM');
    const exit2 = await w2.exited;
    expect(exit2.code, w2.logTail()).toBe(0);

    // 3. Exactly once: each message's bytes in exactly one handler output.
    const outputs = await readOutputs(out);
    const counts = countBySha(
      outputs.map((b) => (b.subarray(0, 9).toString() === 'Received:' ? stripFirstReceived(b) : b)),
    );
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(new Set(counts.keys())).toEqual(all);
    expect(outputs.length).toBe(all.size);

    const store = openSqliteStore(db);
    try {
      const c = store.counts();
      expect(c.byStatus.delivered).toBe(all.size);
      expect(c.byStatus.received ?? 0).toBe(0);
      expect(c.byStatus.processing ?? 0).toBe(0);
      expect(c.byStatus.failed ?? 0).toBe(0);
      expect(c.byStatus.dead ?? 0).toBe(0);
      expect(store.unsettled('mailbox', 1000)).toHaveLength(0);
    } finally {
      store.close();
    }
    console.log(
      `[service-stop] SIGTERM at ${atSignal}/${all.size} handled; exit ${exit1.code} after ${tookMs} ms ` +
        `(shutdownTimeout ${SHUTDOWN_TIMEOUT_MS} ms); ${afterFirst} handled before restart, ledger ${JSON.stringify(ledgerAfterFirst)}; ` +
        `SMTP ${acceptedFirst}/${SMTP_COUNT} accepted before restart, ${sender.refusals()} refusals resent; ` +
        `after restart ${outputs.length} outputs, ${counts.size} distinct, none twice`,
    );
  }, 180_000);

  it('handlers outlasting shutdownTimeout are aborted at the deadline and run again after restart', async () => {
    const d = await mkdtemp(join(dir, 'hang-'));
    const out = join(d, 'out');
    const slowFlag = join(d, 'slow');
    await mkdir(out, { recursive: true });
    await writeFile(slowFlag, '');
    const pushPort = await freePort();
    const db = join(d, 'db.sqlite');
    const deadlineMs = 4_000;
    const file = await writeConfig(join(d, 'cfg.yaml'), {
      store: { sqlite: db, spool: join(d, 'spool'), attachments: join(d, 'att') },
      log: { level: 'info' },
      pipeline: { concurrency: 4, stripReplies: false, backoffBase: 100 },
      shutdownTimeout: deadlineMs,
      push: { listen: `127.0.0.1:${pushPort}`, domains: ['example.test'] },
      routes: [{ name: 'all', handlers: ['hang'] }],
      handlers: {
        // Hangs (a grandchild `sleep` holding stderr, like real scripts) while the flag file exists.
        hang: {
          command: {
            argv: ['sh', '-c', 'if [ -e "$SLOW" ]; then : > "$OUT/started.$$"; sleep 20; fi; f=$(mktemp "$OUT/call.XXXXXXXX") && cat > "$f" && mv "$f" "$f.eml"'], // prettier-ignore
            input: 'raw',
            env: { OUT: out, SLOW: slowFlag },
          },
        },
      },
    });
    const raws = [0, 1, 2].map((i) => makeMessage({ to: `hang+${i}@example.test` }).raw);
    const w1 = spawnWorker(file, ['--push']);
    await waitFor(() => isListening(pushPort), { timeoutMs: 20_000, what: 'push listener' });
    const sender = smtpSender(pushPort, raws);
    await sender.pass();
    expect(sender.accepted.size).toBe(raws.length);
    // Each hanging call leaves a started.<pid> marker before it sleeps (claims are held in memory,
    // so the ledger does not show them).
    const started = () => readdirSync(out).filter((f) => f.startsWith('started.')).length;
    await waitFor(() => started() === raws.length, { timeoutMs: 20_000, what: 'handlers running' });
    const sentAt = Date.now();
    w1.child.kill('SIGTERM');
    const exit1 = await w1.exited;
    const tookMs = exit1.at - sentAt;
    expect(exit1.code, w1.logTail()).toBe(0);
    expect(tookMs).toBeLessThan(deadlineMs);
    expect(await readOutputs(out)).toHaveLength(0);

    await rm(slowFlag);
    const w2 = spawnWorker(file, ['--push']);
    await waitFor(async () => (await readOutputs(out)).length >= raws.length, {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'delivery after restart',
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${w2.logTail()}`);
    });
    w2.child.kill('SIGTERM');
    expect((await w2.exited).code, w2.logTail()).toBe(0);
    const counts = countBySha((await readOutputs(out)).map(stripFirstReceived));
    expect(new Set(counts.keys())).toEqual(new Set(raws.map(sha)));
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    console.log(
      `[service-stop] handlers hanging: exit ${exit1.code} after ${tookMs} ms (shutdownTimeout ${deadlineMs} ms); all ${raws.length} delivered once after restart`,
    );
  }, 60_000);
});
