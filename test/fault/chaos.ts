// The fault-suite scenario: one worker process (`run --push`) pulling from Dovecot over IMAP and POP3
// and listening for SMTP, each through a fault-injecting proxy, with a Maildir handler, a webhook
// receiver that goes down (503) from time to time, and a command handler that hangs (killed by its
// timeout, retried, then dead). A chaos loop kills the worker with SIGKILL, restarts Dovecot, cuts,
// stalls, slows and refuses connections. After every kill (worker stopped) it checks that nothing was
// acknowledged without a ledger row; at the end that every message was handled exactly once or is
// dead with a reason, and that every handled message is settled on its server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { startProxy, type Proxy } from '../harness/proxy.js';
import { RawSmtp, stripFirstReceived } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';
import { tempDir } from '../helpers/app.js';
import { readLedger, sha, startWorker, type LedgerRow, type Worker } from './kit.js';

export interface ChaosOptions {
  imap: number;
  pop3: number;
  smtp: number;
  /** Stop injecting once both targets are reached (and the work is done or the deadline passed). */
  minKills: number;
  minNetFaults: number;
  /** Chaos phase deadline (ms); then everything heals and the worker finishes. */
  chaosMs: number;
  finishMs: number;
  /** Fraction of messages whose handler hangs / goes to the webhook. */
  hangRate: number;
  hookRate: number;
  log?: (line: string) => void;
}

type Kind = 'imap' | 'pop3' | 'smtp';
interface Msg {
  kind: Kind;
  token: string;
  raw: Buffer;
  sha: string;
  route: 'hang' | 'hook' | 'md';
}

export interface ChaosReport {
  messages: Record<Kind, number>;
  kills: number;
  faults: Record<string, number>;
  smtpClientRetries: number;
  webhook503: number;
  webhookRedeliveriesSameKey: number;
  durationMs: number;
  /** Violations: must all be empty. */
  lost: string[];
  duplicates: string[];
  ackedWithoutLedger: string[];
  unsettled: string[];
  deadWithoutReason: string[];
  wrongOutcome: string[];
  ledger: Record<string, number>;
  hung: number;
}

function makeMsg(kind: Kind, i: number, o: ChaosOptions): Msg {
  const token = `${kind}${i}x${randomBytes(5).toString('hex')}`;
  const r = ((i * 7919) % 1000) / 1000;
  const route = r < o.hangRate ? 'hang' : r < o.hangRate + o.hookRate ? 'hook' : 'md';
  const tag = route === 'hang' ? 'HANG-' : route === 'hook' ? 'HOOK-' : '';
  const size = 300 + ((i * 104729) % 6000);
  const line = `${token} body line with some padding text to reach the size we want.\r\n`;
  const body = line.repeat(Math.max(1, Math.floor(size / line.length)));
  const raw = Buffer.from(
    `From: Fault <f${i}@client.test>\r\nTo: <in@example.test>\r\nSubject: fault ${tag}${token}\r\n` +
      `Message-ID: <${token}@client.test>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
  return { kind, token, raw, sha: sha(raw), route };
}

const tokenOf = (raw: Buffer): string | undefined =>
  /^Subject: fault (?:HANG-|HOOK-)?(\w+)/m.exec(raw.subarray(0, 4096).toString('latin1'))?.[1];

interface Receiver {
  url: string;
  server: Server;
  down: boolean;
  served503: number;
  /** sha256 → idempotency keys seen (with repeats). */
  keys: Map<string, string[]>;
}

async function startReceiver(): Promise<Receiver> {
  const r = { down: false, served503: 0, keys: new Map<string, string[]>() } as Receiver;
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (r.down) {
        r.served503++;
        res.writeHead(503).end('down');
        return;
      }
      const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { sha256: string };
      const key = String(req.headers['idempotency-key']);
      r.keys.set(json.sha256, [...(r.keys.get(json.sha256) ?? []), key]);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((res) => r.server.listen(0, '127.0.0.1', res));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hook`;
  return r;
}

const FINAL = new Set(['delivered', 'dead', 'skipped']);

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const t0 = Date.now();
  const dir = tempDir('mi-fault-');
  const dc: Dovecot = await startDovecot();
  const closers: Array<() => Promise<void> | void> = [() => dc.close()];
  /** SHA-256 of each file in a Failed maildir (after a MOVE Dovecot's GUID no longer names the file). */
  const failedShas = async (user: string): Promise<string[]> => {
    const base = join(dc.dir, 'home', user, 'Maildir', '.Failed');
    return ['cur', 'new'].flatMap((sub) => {
      const d = join(base, sub);
      return existsSync(d) ? readdirSync(d).map((f) => sha(readFileSync(join(d, f)))) : [];
    });
  };
  /** dc.list, retried: a server-side MOVE/expunge may be finishing while we read the maildir. */
  const list = async (user: string, box: string) => {
    let res: Awaited<ReturnType<Dovecot['list']>> = [];
    await waitFor(
      async () => {
        res = await dc.list(user, box);
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `list ${user}/${box}` },
    );
    return res;
  };
  let worker: Worker | null = null;
  try {
    const iu = uniqueUser('fi');
    const pu = uniqueUser('fp');
    await dc.addUser(iu.user, iu.password);
    await dc.addUser(pu.user, pu.password);
    const imapProxy = await startProxy({ targetHost: '127.0.0.1', targetPort: dc.ports.imap });
    const popProxy = await startProxy({ targetHost: '127.0.0.1', targetPort: dc.ports.pop3 });
    const smtpPort = await freePort();
    const smtpProxy = await startProxy({ targetHost: '127.0.0.1', targetPort: smtpPort });
    const proxies = { imap: imapProxy, pop3: popProxy, smtp: smtpProxy } as Record<Kind, Proxy>;
    for (const p of Object.values(proxies)) closers.push(() => p.close());
    const rcv = await startReceiver();
    closers.push(() => void rcv.server.close());

    const msgs: Msg[] = [
      ...Array.from({ length: o.imap }, (_, i) => makeMsg('imap', i, o)),
      ...Array.from({ length: o.pop3 }, (_, i) => makeMsg('pop3', i, o)),
      ...Array.from({ length: o.smtp }, (_, i) => makeMsg('smtp', i, o)),
    ];
    const bySha = new Map(msgs.map((m) => [m.sha, m]));
    const byToken = new Map(msgs.map((m) => [m.token, m]));
    const imapMsgs = msgs.filter((m) => m.kind === 'imap');
    const popMsgs = msgs.filter((m) => m.kind === 'pop3');
    const smtpMsgs = msgs.filter((m) => m.kind === 'smtp');
    // POP3 mail is all there from the start; IMAP mail arrives in batches during the chaos (IDLE).
    await dc.saveMany(
      pu.user,
      'INBOX',
      popMsgs.map((m) => m.raw),
    );
    const imapBatches = chunk(imapMsgs, Math.max(1, Math.ceil(imapMsgs.length / 5)));
    await dc.saveMany(
      iu.user,
      'INBOX',
      imapBatches.shift()!.map((m) => m.raw),
    );

    const hang = join(dir, 'hang.mjs');
    // "sleep 1000" that also exits when orphaned (a kill -9 of the worker must not leak sleepers; a
    // child whose parent died while it was starting sees ppid 1 at once).
    writeFileSync(
      hang,
      `const p = process.ppid; if (p === 1) process.exit(1); setInterval(() => { try { process.kill(p, 0); } catch { process.exit(1); } if (process.ppid !== p) process.exit(1); }, 200); setTimeout(() => process.exit(0), 1_000_000);\n`,
    );
    const out = join(dir, 'out');
    const db = join(dir, 'db.sqlite');
    const cfg = join(dir, 'cfg.yaml');
    writeFileSync(
      cfg,
      JSON.stringify({
        store: { sqlite: db, spool: join(dir, 'spool'), attachments: join(dir, 'att') },
        log: { level: 'warn' },
        pipeline: {
          concurrency: 16,
          maxAttempts: 10,
          backoffBase: 100,
          backoffMax: 1000,
          stripReplies: false,
        },
        shutdownTimeout: '10s',
        sources: {
          im: {
            imap: {
              host: '127.0.0.1',
              port: imapProxy.port,
              secure: false,
              starttls: true,
              user: iu.user,
              password: iu.password,
              tls: { caFile: dc.caFile, servername: 'localhost' },
              socketTimeout: '4s',
              fetchBatch: 100,
            },
            schedule: '*/2 * * * * *',
            idle: true,
            onSuccess: { seen: true },
            onFailure: { move: 'Failed' },
          },
          po: {
            pop3: {
              host: '127.0.0.1',
              port: popProxy.port,
              secure: false,
              starttls: false,
              user: pu.user,
              password: pu.password,
              maxPerRun: 200,
              commandTimeout: '4s',
            },
            schedule: '* * * * * *',
          },
        },
        push: {
          listen: `127.0.0.1:${smtpPort}`,
          hostname: 'mx.test',
          domains: ['example.test'],
          maxClientsPerIp: 200,
          socketTimeout: '10s',
          shutdownGrace: '2s',
        },
        routes: [
          { name: 'hang', subject: 'HANG-', handlers: ['hang'] },
          { name: 'hook', subject: 'HOOK-', handlers: ['hook'] },
          { name: 'all', handlers: ['md'] },
        ],
        handlers: {
          md: { maildir: { path: out } },
          hook: { webhook: { url: rcv.url, secret: 's3cret', timeout: '3s' } },
          hang: { command: { argv: [process.execPath, hang], timeout: '400ms' } },
        },
      }),
    );

    const start = async (): Promise<void> => {
      worker = startWorker(['run', '--push', '-c', cfg]);
      await waitFor(async () => (await isListening(smtpPort)) || worker!.child.exitCode !== null, {
        timeoutMs: 30_000,
        what: 'worker listening',
      });
      if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output().slice(-2000)}`);
    };
    closers.push(async () => void (await worker?.kill9()));

    // --- SMTP clients: send every message until it gets a 250 (a real MTA retries the same). ---
    const accepted = new Set<string>();
    let smtpRetries = 0;
    let stopClients = false;
    const queue = [...smtpMsgs];
    const client = async (): Promise<void> => {
      let s: RawSmtp | null = null;
      let m = queue.shift();
      while (m && !stopClients) {
        try {
          if (!s || s.isClosed) {
            s = await RawSmtp.open(smtpProxy.port);
            if ((await s.reply(15_000)).code !== 220) throw new Error('no banner');
            if ((await s.cmd('EHLO client.test')).code !== 250) throw new Error('EHLO');
          }
          const r = await s.send(`f@client.test`, ['in@example.test'], m.raw);
          if (r.code !== 250) throw new Error(`reply ${r.code}`);
          accepted.add(m.token);
          m = queue.shift();
        } catch {
          smtpRetries++;
          s?.destroy();
          s = null;
          // back off like an MTA would (client behaviour, not synchronisation)
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
        }
      }
      s?.destroy();
    };

    // --- invariant checked whenever the worker is stopped: nothing acknowledged without a row ---
    const ackedWithoutLedger: string[] = [];
    const checkAcks = async (when: string): Promise<void> => {
      if (!existsSync(db)) return;
      const rows = readLedger(db);
      const final = new Set(rows.filter((r) => FINAL.has(r.status)).map((r) => r.sha256));
      const any = new Set(rows.map((r) => r.sha256));
      const popLeft = new Set((await list(pu.user, 'INBOX')).map((m) => m.sha256));
      for (const m of popMsgs) if (!popLeft.has(m.sha) && !final.has(m.sha)) ackedWithoutLedger.push(`${when}: pop3 DELE ${m.token}`); // prettier-ignore
      const inbox = await list(iu.user, 'INBOX');
      for (const s of inbox) {
        const m = bySha.get(s.sha256);
        if (m && s.flags.includes('\\Seen') && !final.has(s.sha256)) ackedWithoutLedger.push(`${when}: imap \\Seen ${m.token}`); // prettier-ignore
      }
      for (const h of await failedShas(iu.user)) {
        const m = bySha.get(h);
        if (m && !final.has(h)) ackedWithoutLedger.push(`${when}: imap moved ${m.token}`);
      }
      for (const t of accepted) {
        const m = byToken.get(t)!;
        if (!any.has(m.sha)) ackedWithoutLedger.push(`${when}: smtp 250 ${t}`);
      }
    };

    // --- chaos ---
    await start();
    const clients = Array.from({ length: 8 }, client);
    const faults: Record<string, number> = {
      cut: 0,
      stall: 0,
      slow: 0,
      drop: 0,
      dovecotRestart: 0,
      kick: 0,
      webhookDown: 0,
    };
    let kills = 0;
    const netFaults = () => faults.cut! + faults.stall! + faults.slow! + faults.drop! + faults.dovecotRestart! + faults.kick!; // prettier-ignore
    const pause = (lo: number, hi: number) =>
      new Promise((r) => setTimeout(r, lo + Math.random() * (hi - lo)));
    const chaosEnd = t0 + o.chaosMs;
    let step = 0;
    while (
      Date.now() < chaosEnd &&
      (kills < o.minKills || netFaults() < o.minNetFaults || imapBatches.length > 0)
    ) {
      step++;
      if (imapBatches.length > 0 && step % 4 === 0) await dc.saveMany(iu.user, 'INBOX', imapBatches.shift()!.map((m) => m.raw)); // prettier-ignore
      // Round robin over every fault kind (each appears), a kill every other step until minKills.
      const NET = ['cut', 'stall', 'slow', 'drop', 'dovecotRestart', 'kick', 'webhookDown'] as const;
      const action = step % 2 === 1 && kills < o.minKills ? 'kill' : NET[Math.floor(step / 2) % NET.length]!;
      const kind = (['imap', 'pop3', 'smtp'] as const)[step % 3]!;
      const p = proxies[kind];
      if (action === 'kill') {
        await pause(100, 1500);
        await worker!.kill9();
        kills++;
        await checkAcks(`after kill ${kills}`);
        await start();
      } else if (action === 'cut') {
        p.cutAll();
        faults.cut!++;
      } else if (action === 'stall') {
        p.setMode('stall');
        faults.stall!++;
        await pause(500, 2500);
        p.setMode('pass');
      } else if (action === 'slow') {
        p.setMode('slow', { chunkSize: 64, delayMs: 5 });
        faults.slow!++;
        await pause(500, 2000);
        p.setMode('pass');
      } else if (action === 'drop') {
        p.setMode('drop');
        faults.drop!++;
        await pause(300, 1500);
        p.setMode('pass');
      } else if (action === 'dovecotRestart') {
        await dc.restart();
        faults.dovecotRestart!++;
      } else if (action === 'kick') {
        await dc.kick(kind === 'pop3' ? pu.user : iu.user).catch(() => undefined);
        faults.kick!++;
      } else {
        rcv.down = true;
        faults.webhookDown!++;
        await pause(500, 2000);
        rcv.down = false;
      }
      await pause(50, 400);
    }
    log(`chaos done after ${Date.now() - t0} ms: kills=${kills} faults=${JSON.stringify(faults)}`);
    // --- heal and finish ---
    for (const p of Object.values(proxies)) p.setMode('pass');
    rcv.down = false;
    await Promise.all(clients);
    const expectDone = (): boolean => {
      if (!existsSync(db)) return false;
      const d = new Database(db, { readonly: true });
      try {
        const open = d
          .prepare(
            `SELECT COUNT(*) AS n FROM messages WHERE status NOT IN ('delivered','dead','skipped') OR (source != 'push' AND settled_at IS NULL)`,
          ) // prettier-ignore
          .get() as { n: number };
        const final = d.prepare(`SELECT COUNT(DISTINCT sha256) AS n FROM messages`).get() as { n: number };
        return open.n === 0 && final.n >= msgs.length;
      } finally {
        d.close();
      }
    };
    await waitFor(expectDone, {
      timeoutMs: o.finishMs,
      intervalMs: 500,
      what: 'all messages final and settled',
    }).catch((e: Error) => log(`finish: ${e.message}`));
    await worker!.stop(20_000);
    await checkAcks('final');
    stopClients = true;

    // --- verdict ---
    const rows = readLedger(db);
    const ledger: Record<string, number> = {};
    for (const r of rows) ledger[r.status] = (ledger[r.status] ?? 0) + 1;
    const rowsBySha = new Map<string, LedgerRow[]>();
    for (const r of rows) rowsBySha.set(r.sha256, [...(rowsBySha.get(r.sha256) ?? []), r]);
    const mdCount = new Map<string, number>();
    const outNew = join(out, 'new');
    for (const f of existsSync(outNew) ? readdirSync(outNew) : []) {
      let raw: Buffer = readFileSync(join(outNew, f));
      if (raw.subarray(0, 9).toString() === 'Received:') raw = stripFirstReceived(raw);
      const m = bySha.get(sha(raw));
      const key = m?.token ?? `unknown:${tokenOf(raw) ?? f}`;
      mdCount.set(key, (mdCount.get(key) ?? 0) + 1);
    }
    const lost: string[] = [];
    const duplicates: string[] = [];
    const unsettled: string[] = [];
    const deadWithoutReason: string[] = [];
    const wrongOutcome: string[] = [];
    let redeliveries = 0;
    for (const k of mdCount.keys())
      if (k.startsWith('unknown:')) wrongOutcome.push(`unexpected maildir file ${k}`);
    for (const m of msgs) {
      const rs = rowsBySha.get(m.sha) ?? [];
      const primary = rs.filter((r) => r.status !== 'skipped');
      const dups = rs.filter((r) => r.status === 'skipped');
      if (primary.length === 0) {
        lost.push(`${m.kind} ${m.token}: no ledger row`);
        continue;
      }
      if (primary.length > 1) duplicates.push(`${m.token}: ${primary.length} non-duplicate rows`);
      for (const d of dups)
        if (d.duplicate_of === null) wrongOutcome.push(`${m.token}: skipped without duplicate_of`);
      const st = primary[0]!.status;
      const md = mdCount.get(m.token) ?? 0;
      const keys = new Set(rcv.keys.get(m.sha) ?? []);
      redeliveries += (rcv.keys.get(m.sha)?.length ?? 0) - keys.size;
      if (m.route === 'hang') {
        if (st !== 'dead') wrongOutcome.push(`${m.token}: hang route ended ${st}`);
        else if (!primary[0]!.reason) deadWithoutReason.push(m.token);
        if (md + keys.size > 0) duplicates.push(`${m.token}: hang route delivered`);
      } else {
        if (st !== 'delivered') lost.push(`${m.kind} ${m.token}: ${st} ${primary[0]!.reason ?? ''}`);
        const n = m.route === 'md' ? md : keys.size;
        if (n === 0 && st === 'delivered')
          lost.push(`${m.kind} ${m.token}: delivered in ledger, not at the receiver`);
        if (n > 1) duplicates.push(`${m.kind} ${m.token}: handled ${n} times`);
        if ((m.route === 'md' ? keys.size : md) > 0) wrongOutcome.push(`${m.token}: wrong handler`);
      }
      if (m.kind !== 'smtp' && primary[0]!.settled_at === null)
        unsettled.push(`${m.kind} ${m.token}: not settled`);
    }
    // server state
    const inbox = await list(iu.user, 'INBOX');
    const failed = await failedShas(iu.user);
    const popLeft = await list(pu.user, 'INBOX');
    for (const s of inbox)
      if (!s.flags.includes('\\Seen')) unsettled.push(`imap ${bySha.get(s.sha256)?.token} not \\Seen`);
    const failedSet = new Set(failed);
    for (const m of imapMsgs) if (m.route === 'hang' && !failedSet.has(m.sha)) unsettled.push(`imap ${m.token} (dead) not in Failed`); // prettier-ignore
    const popSet = new Set(popLeft.map((s) => s.sha256));
    for (const m of popMsgs) {
      if (m.route !== 'hang' && popSet.has(m.sha))
        unsettled.push(`pop3 ${m.token} handled, still on the server`);
      if (m.route === 'hang' && !popSet.has(m.sha)) wrongOutcome.push(`pop3 ${m.token} dead but deleted`);
    }
    for (const t of smtpMsgs) if (!accepted.has(t.token)) lost.push(`smtp ${t.token}: never got a 250`);
    const hung = await countHangers(hang);
    return {
      messages: { imap: o.imap, pop3: o.pop3, smtp: o.smtp },
      kills,
      faults,
      smtpClientRetries: smtpRetries,
      webhook503: rcv.served503,
      webhookRedeliveriesSameKey: redeliveries,
      durationMs: Date.now() - t0,
      lost,
      duplicates,
      ackedWithoutLedger,
      unsettled,
      deadWithoutReason,
      wrongOutcome,
      ledger,
      hung,
    };
  } finally {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => undefined);
  }
}

function chunk<T>(a: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

/** Hang programs still running (should be 0: killed by the timeout or exited when orphaned). */
async function countHangers(script: string): Promise<number> {
  const ps = spawn('ps', ['-eo', 'args'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  ps.stdout.on('data', (d: Buffer) => (text += d.toString()));
  await new Promise((r) => ps.once('close', r));
  // orphans notice their parent is gone within 200 ms: poll briefly for them to exit
  const count = () => text.split('\n').filter((l) => l.includes(script)).length;
  if (count() === 0) return 0;
  let n = count();
  await waitFor(
    async () => {
      const again = spawn('ps', ['-eo', 'args'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let t = '';
      again.stdout.on('data', (d: Buffer) => (t += d.toString()));
      await new Promise((r) => again.once('close', r));
      n = t.split('\n').filter((l) => l.includes(script)).length;
      return n === 0;
    },
    { timeoutMs: 5000, intervalMs: 200 },
  ).catch(() => undefined);
  return n;
}
