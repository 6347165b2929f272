// The worker as a child process (`node dist/cli/main.js run`) with an IMAP source, a POP3 source
// and the push listener at once, against one Dovecot (two users) and swaks: every path delivers
// byte-exact files, /healthz and /metrics report each source (scraped); a source whose server goes
// away turns /healthz 503 naming it and its last error within healthyWithin while the others keep
// delivering; `run --once` exits 0 after a clean pass and 1 when a message ended dead.
// Needs `npm run build` first (dist/).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot, type DovecotUser } from '../harness/dovecot.js';
import { runOk } from '../harness/exec.js';
import { startProxy, type Proxy } from '../harness/proxy.js';
import { makeMessage, stripFirstReceived, swaks } from '../harness/smtp-clients.js';
import { freePort, waitFor } from '../harness/wait.js';
import { genMessage } from '../helpers/gen.js';
import {
  CLI,
  killAll,
  metric,
  readOutputs,
  scrapeHealth,
  scrapeMetrics,
  sha,
  spawnWorker,
  writeConfig,
  type Worker,
} from '../unit/service/kit.js';

let dc: Dovecot;
let dir = '';
const proxies: Proxy[] = [];

beforeAll(async () => {
  dc = await startDovecot();
  dir = await mkdtemp(join(tmpdir(), 'mi-service-'));
});
afterAll(async () => {
  killAll();
  for (const p of proxies) await p.close();
  await dc?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function user(prefix: string): Promise<DovecotUser> {
  const u = uniqueUser(prefix);
  await dc.addUser(u.user, u.password);
  return u;
}

const imapSource = (u: DovecotUser, extra: Record<string, unknown> = {}) => ({
  imap: {
    host: '127.0.0.1',
    port: dc.ports.imap,
    secure: false,
    starttls: true,
    user: u.user,
    password: u.password,
    tls: { caFile: dc.caFile, servername: 'localhost' },
  },
  schedule: '*/2 * * * * *',
  onSuccess: { seen: true },
  onFailure: { move: 'Failed' },
  ...extra,
});

const pop3Source = (u: DovecotUser, port: number, extra: Record<string, unknown> = {}) => ({
  pop3: { host: '127.0.0.1', port, secure: false, starttls: false, user: u.user, password: u.password },
  schedule: '*/2 * * * * *',
  ...extra,
});

/** A fresh directory and the store/handler part of a config. */
async function base(name: string): Promise<{ d: string; out: string; cfg: Record<string, unknown> }> {
  const d = await mkdtemp(join(dir, `${name}-`));
  const out = join(d, 'out');
  return {
    d,
    out,
    cfg: {
      store: { sqlite: join(d, 'db.sqlite'), spool: join(d, 'spool'), attachments: join(d, 'att') },
      log: { level: 'info' },
      pipeline: { stripReplies: false },
      routes: [{ name: 'all', handlers: ['out'] }],
      handlers: { out: { file: { path: out } } },
      shutdownTimeout: '10s',
    },
  };
}

/** Message-IDs in a folder (doveadm; the harness list() cannot follow moved maildir files). */
async function idsIn(u: string, box: string): Promise<string[]> {
  const args = ['-c', dc.configFile, '-f', 'flow', 'fetch', '-u', u, 'hdr.message-id', 'mailbox', box, 'all'];
  const res = await runOk('doveadm', args);
  return [...res.stdout.toString('utf8').matchAll(/<([^>]+)>/g)].map((m) => m[1]!).sort();
}

/** Sends one message with swaks (which ends the data with its own CRLF: given without the last). */
async function sendSmtp(port: number, raw: Buffer, to = 'push@example.test'): Promise<void> {
  const args = ['--server', `127.0.0.1:${port}`, '--to', to, '--from', 's@client.test', '--data', '-'];
  const res = await swaks(args, raw.subarray(0, raw.length - 2));
  if (res.code !== 0) throw new Error(`swaks failed: ${res.stdout.toString()}`);
}

/** SHA-256 of each delivered file (SMTP ones without our Received: trace header). */
async function deliveredShas(out: string): Promise<string[]> {
  return (await readOutputs(out)).map((b) =>
    sha(b.subarray(0, 9).toString() === 'Received:' ? stripFirstReceived(b) : b),
  );
}

async function stopWorker(w: Worker): Promise<number | null> {
  w.child.kill('SIGTERM');
  return (await w.exited).code;
}

describe.skipIf(!existsSync(CLI))('the worker (run --push) with IMAP, POP3 and SMTP at once', () => {
  it('delivers through all three paths and reports them on /healthz and /metrics', async () => {
    const [ui, up] = [await user('svc-imap'), await user('svc-pop')];
    const { d, out, cfg } = await base('three');
    const [httpPort, pushPort] = [await freePort(), await freePort()];
    const imapBefore = [0, 1, 2].map((i) => genMessage(i, { tag: 'svc-imap' }));
    const popBefore = [0, 1, 2].map((i) => genMessage(i, { tag: 'svc-pop' }));
    await dc.saveMany(ui.user, 'INBOX', imapBefore);
    await dc.saveMany(up.user, 'INBOX', popBefore);
    const file = await writeConfig(join(d, 'cfg.yaml'), {
      ...cfg,
      http: { listen: `127.0.0.1:${httpPort}` },
      push: { listen: `127.0.0.1:${pushPort}`, domains: ['example.test'] },
      sources: {
        mailbox: imapSource(ui, { healthyWithin: '10s' }),
        drop: pop3Source(up, dc.ports.pop3, { healthyWithin: '10s' }),
      },
    });
    const w = spawnWorker(file, ['--push']);
    try {
      await waitFor(async () => (await scrapeHealth(httpPort).catch(() => null)) !== null, {
        timeoutMs: 20_000,
        what: 'the HTTP endpoint',
      });
      // More mail while it runs: IMAP (IDLE), POP3 (next poll), SMTP (swaks).
      const imapAfter = [3, 4].map((i) => genMessage(i, { tag: 'svc-imap' }));
      const popAfter = [3, 4, 5].map((i) => genMessage(i, { tag: 'svc-pop' }));
      for (const raw of imapAfter) await dc.save(ui.user, 'INBOX', raw);
      for (const raw of popAfter) await dc.save(up.user, 'INBOX', raw);
      const smtp = [0, 1, 2, 3].map((i) => makeMessage({ to: `push+${i}@example.test` }).raw);
      for (const raw of smtp) await sendSmtp(pushPort, raw);

      const want = { mailbox: [...imapBefore, ...imapAfter], drop: [...popBefore, ...popAfter], push: smtp };
      const all = [...want.mailbox, ...want.drop, ...want.push];
      await waitFor(async () => (await deliveredShas(out)).length >= all.length, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: `${all.length} delivered files`,
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${w.logTail()}`);
      });
      const got = await deliveredShas(out);
      expect(got.length).toBe(all.length);
      expect(new Set(got)).toEqual(new Set(all.map(sha)));

      // Settled on the servers: IMAP \Seen, POP3 deleted (leaveOnServer: false).
      await waitFor(
        async () =>
          (await dc.list(ui.user, 'INBOX')).every((m) => m.flags.includes('\\Seen')) &&
          (await dc.list(up.user, 'INBOX')).length === 0,
        { timeoutMs: 20_000, intervalMs: 200, what: 'IMAP \\Seen and POP3 deleted' },
      );

      // /healthz: 200, each source connected with a last success.
      await waitFor(
        async () => {
          const h = await scrapeHealth(httpPort);
          return h.status === 200 && h.body.sources.every((s) => s.connected && s.lastSuccessAt !== null);
        },
        { timeoutMs: 10_000, intervalMs: 200, what: 'healthz 200 with every source connected' },
      );
      const h = await scrapeHealth(httpPort);
      expect(h.body.status).toBe('ok');
      expect(h.body.sources.map((s) => [s.name, s.kind, s.healthy]).sort()).toEqual([
        ['drop', 'pop3', true],
        ['mailbox', 'imap', true],
        ['push', 'smtp', true],
      ]);

      // /metrics: outcomes per source equal what was sent; all connected; handler latency; spool.
      const m = await scrapeMetrics(httpPort);
      for (const [source, raws] of Object.entries(want)) {
        expect(metric(m, 'mailintake_messages_total', { source, status: 'delivered' }), source).toBe(
          raws.length,
        );
        expect(metric(m, 'mailintake_source_connected', { source }), source).toBe(1);
        expect(metric(m, 'mailintake_source_last_success_timestamp_seconds', { source })).toBeGreaterThan(0);
      }
      expect(metric(m, 'mailintake_messages_total', { status: 'dead' }) ?? 0).toBe(0);
      expect(metric(m, 'mailintake_handler_duration_seconds_count', { handler: 'out', result: 'ok' })).toBe(
        all.length,
      );
      expect(metric(m, 'mailintake_spool_bytes')).toBeGreaterThan(0);
      expect(metric(m, 'mailintake_ledger_messages', { status: 'delivered' })).toBe(all.length);
      expect(metric(m, 'mailintake_unsettled_messages')).toBe(0);
      console.log(
        `[service] delivered ${want.mailbox.length} IMAP + ${want.drop.length} POP3 + ${want.push.length} SMTP; spool ${metric(m, 'mailintake_spool_bytes')} bytes`,
      );
    } finally {
      expect(await stopWorker(w)).toBe(0);
    }
  }, 90_000);

  it('reports a source whose server went away unhealthy within healthyWithin; the others keep delivering', async () => {
    const [ui, up] = [await user('svc-ok'), await user('svc-down')];
    const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: dc.ports.pop3 });
    proxies.push(proxy);
    const { d, out, cfg } = await base('down');
    const [httpPort, pushPort] = [await freePort(), await freePort()];
    const file = await writeConfig(join(d, 'cfg.yaml'), {
      ...cfg,
      http: { listen: `127.0.0.1:${httpPort}` },
      push: { listen: `127.0.0.1:${pushPort}`, domains: ['example.test'] },
      sources: {
        mailbox: imapSource(ui, { healthyWithin: '5s' }),
        flaky: pop3Source(up, proxy.port, { healthyWithin: '5s' }),
      },
    });
    const first = genMessage(0, { tag: 'svc-flaky' });
    await dc.save(up.user, 'INBOX', first);
    const w = spawnWorker(file, ['--push']);
    try {
      await waitFor(
        async () => {
          const h = await scrapeHealth(httpPort).catch(() => null);
          const pulled = h?.body.sources.filter((s) => s.kind !== 'smtp') ?? [];
          return h?.status === 200 && pulled.length === 2 && pulled.every((s) => s.lastSuccessAt !== null);
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'healthy with a first sync everywhere' },
      );
      await waitFor(async () => (await deliveredShas(out)).includes(sha(first)), {
        timeoutMs: 10_000,
        what: 'the first POP3 message',
      });

      // The POP3 server goes away: new connections are reset.
      proxy.setMode('drop');
      proxy.cutAll();
      const downAt = Date.now();
      let unhealthyAfter = 0;
      let report: Awaited<ReturnType<typeof scrapeHealth>> | null = null;
      await waitFor(
        async () => {
          report = await scrapeHealth(httpPort);
          unhealthyAfter = Date.now() - downAt;
          return report.status === 503;
        },
        { timeoutMs: 20_000, intervalMs: 100, what: 'healthz 503' },
      );
      const r = report!;
      const flaky = r.body.sources.find((s) => s.name === 'flaky')!;
      expect(r.body.status).toBe('unhealthy');
      expect(flaky.healthy).toBe(false);
      expect(flaky.connected).toBe(false);
      expect(flaky.why).toMatch(/no successful sync within 5s/);
      expect(flaky.why).toMatch(/last error: .*(ECONNRESET|closed|ECONNREFUSED|socket)/i);
      expect(flaky.lastError).toBeTruthy();
      expect(r.body.sources.filter((s) => s.name !== 'flaky').every((s) => s.healthy)).toBe(true);
      // The last success was at most one schedule period (2 s) before the cut, so 503 comes within
      // healthyWithin (5 s) of the cut plus scrape/poll slack.
      expect(unhealthyAfter).toBeLessThanOrEqual(5_000 + 1_500);
      const m = await scrapeMetrics(httpPort);
      expect(metric(m, 'mailintake_source_connected', { source: 'flaky' })).toBe(0);
      expect(metric(m, 'mailintake_source_connected', { source: 'mailbox' })).toBe(1);

      // Meanwhile IMAP and SMTP still deliver.
      const imapRaw = genMessage(1, { tag: 'svc-ok' });
      await dc.save(ui.user, 'INBOX', imapRaw);
      const smtpRaw = makeMessage({ to: 'down@example.test' }).raw;
      await sendSmtp(pushPort, smtpRaw);
      const popRaw = genMessage(2, { tag: 'svc-flaky' });
      await dc.save(up.user, 'INBOX', popRaw);
      await waitFor(
        async () => {
          const got = await deliveredShas(out);
          return got.includes(sha(imapRaw)) && got.includes(sha(smtpRaw));
        },
        { timeoutMs: 15_000, intervalMs: 100, what: 'IMAP and SMTP delivery while POP3 is down' },
      );
      expect(await deliveredShas(out)).not.toContain(sha(popRaw));
      const still = await scrapeHealth(httpPort);
      expect(still.status).toBe(503);
      expect(still.body.sources.filter((s) => !s.healthy).map((s) => s.name)).toEqual(['flaky']);
      console.log(`[service] POP3 down: healthz 503 after ${unhealthyAfter} ms (healthyWithin 5000 ms)`);

      // Back up: it recovers (after its backoff) and fetches what arrived meanwhile.
      proxy.setMode('pass');
      await waitFor(async () => (await deliveredShas(out)).includes(sha(popRaw)), {
        timeoutMs: 45_000,
        intervalMs: 200,
        what: 'POP3 delivery after the server came back',
      });
      await waitFor(async () => (await scrapeHealth(httpPort)).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'healthz 200 again',
      });
    } finally {
      expect(await stopWorker(w)).toBe(0);
    }
  }, 120_000);
});

describe.skipIf(!existsSync(CLI))('run --once', () => {
  it('exits 0 after a clean pass and 1 when a message ended dead', async () => {
    const [clean, poisoned] = [await user('once-ok'), await user('once-dead')];
    const raws = [0, 1, 2].map((i) => genMessage(i, { tag: 'once' }));
    await dc.saveMany(clean.user, 'INBOX', raws);
    const poison = Buffer.from(
      'From: a@example.com\r\nTo: b@example.com\r\nSubject: POISON\r\nMessage-ID: <poison@t>\r\n\r\nPOISON\r\n',
    );
    await dc.saveMany(poisoned.user, 'INBOX', [genMessage(9, { tag: 'once-dead' }), poison]);

    const runOnce = async (u: DovecotUser, name: string) => {
      const { d, cfg } = await base(name);
      const file = await writeConfig(join(d, 'cfg.yaml'), {
        ...cfg,
        pipeline: { stripReplies: false, maxAttempts: 1 },
        sources: { s: imapSource(u) },
        // Exit 0 unless the message contains POISON: then exit 2 (permanent, so dead at once).
        handlers: { out: { command: { argv: ['sh', '-c', '! grep -q POISON'], input: 'raw' } } },
      });
      const started = Date.now();
      const w = spawnWorker(file, ['--once']);
      const r = await w.exited;
      return { ...r, ms: r.at - started, log: w.logTail() };
    };

    const ok = await runOnce(clean, 'once-ok');
    expect(ok.code, ok.log).toBe(0);
    expect((await dc.list(clean.user, 'INBOX')).every((m) => m.flags.includes('\\Seen'))).toBe(true);

    const bad = await runOnce(poisoned, 'once-dead');
    expect(bad.code, bad.log).toBe(1);
    // The dead one was quarantined on the server (onFailure: move Failed), the other settled.
    expect(await idsIn(poisoned.user, 'INBOX')).not.toContain('poison@t');
    expect(await idsIn(poisoned.user, 'Failed')).toEqual(['poison@t']);
    console.log(
      `[service] run --once: clean exit ${ok.code} in ${ok.ms} ms; with a dead letter exit ${bad.code} in ${bad.ms} ms`,
    );
  }, 60_000);
});
