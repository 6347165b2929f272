// SMTP test clients and an in-process test bed for the push listener: a raw-socket session (exact
// bytes, reply codes, hostile behaviour), swaks, message builders, and a real app (SQLite, fsynced
// spool, pipeline) with a capturing handler. No sleeps: reads wait for complete replies with deadlines.
import type { Handler } from '../../src/handlers/types.js';
import type { MessageContext } from '../../src/core/parsed.js';
import type { PushListener } from '../../src/service/push-contract.js';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect, type Socket } from 'node:net';
import { createApp, type App } from '../../src/app.js';
import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { randomBytes } from 'node:crypto';
import { run, type RunResult } from './exec.js';
import { startPushListener } from '../../src/sources/smtp/index.js';
import { tmpdir } from 'node:os';
import { validateConfig } from '../../src/config/load.js';

/** One SMTP reply: code and all text lines. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

/** A raw SMTP client session over a plain socket (STARTTLS optional). */
export class RawSmtp {
  private buf = '';
  private closed = false;
  private constructor(private sock: Socket | TLSSocket) {
    this.attach(sock);
  }

  static async open(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<RawSmtp> {
    const sock = connect({
      host: opts.host ?? '127.0.0.1',
      port,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    return new RawSmtp(sock);
  }

  private attach(sock: Socket | TLSSocket): void {
    sock.on('data', (d: Buffer) => (this.buf += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => (this.closed = true));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Parses one complete reply off the buffer, or null. */
  private take(): SmtpReply | null {
    const lines: string[] = [];
    let rest = this.buf;
    for (;;) {
      const i = rest.indexOf('\r\n');
      if (i < 0) return null;
      const line = rest.slice(0, i);
      rest = rest.slice(i + 2);
      lines.push(line.slice(4));
      if (line[3] !== '-') {
        this.buf = rest;
        return { code: Number(line.slice(0, 3)), lines };
      }
    }
  }

  /** Reads the next complete reply (multi-line aware); rejects if the connection closes first. */
  reply(timeoutMs = 30_000): Promise<SmtpReply> {
    const ready = this.take();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const sock = this.sock;
      const done = (err: Error | null, r?: SmtpReply): void => {
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('close', onClose);
        if (err) reject(err);
        else resolve(r!);
      };
      const onData = (): void => {
        const r = this.take();
        if (r) done(null, r);
      };
      const onClose = (): void => {
        const r = this.take();
        if (r) done(null, r);
        else done(new Error('connection closed'));
      };
      const timer = setTimeout(() => done(new Error(`no SMTP reply within ${timeoutMs} ms`)), timeoutMs);
      sock.on('data', onData);
      sock.on('close', onClose);
      if (this.closed) onClose();
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  async cmd(line: string): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Upgrades with STARTTLS (the 220 to STARTTLS must already be read). */
  async startTls(opts: { ca: Buffer; servername?: string }): Promise<TLSSocket> {
    const plain = this.sock as Socket;
    plain.removeAllListeners('data');
    const t = tlsConnect({ socket: plain, ca: opts.ca, servername: opts.servername ?? 'localhost' });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', resolve);
      t.once('error', reject);
    });
    this.sock = t;
    this.buf = '';
    this.attach(t);
    return t;
  }

  /** One message on a connection of its own (banner, EHLO, the transaction); the final reply code. */
  static async sendOnce(port: number, from: string, to: string[], raw: Buffer): Promise<number> {
    const s = await RawSmtp.open(port);
    try {
      await s.reply();
      await s.cmd('EHLO c.test');
      return (await s.send(from, to, raw)).code;
    } finally {
      s.destroy();
    }
  }

  /** Full transaction on an open session (after EHLO); returns the reply to the final dot. */
  async send(from: string, to: string[], raw: Buffer): Promise<SmtpReply> {
    const m = await this.cmd(`MAIL FROM:<${from}>`);
    if (m.code !== 250) return m;
    let okRcpt = 0;
    let last = m;
    for (const r of to) {
      last = await this.cmd(`RCPT TO:<${r}>`);
      if (last.code === 250) okRcpt++;
    }
    if (!okRcpt) {
      await this.cmd('RSET');
      return last;
    }
    const d = await this.cmd('DATA');
    if (d.code !== 354) return d;
    this.write(Buffer.concat([dotStuff(raw), Buffer.from('.\r\n')]));
    return this.reply(60_000);
  }

  end(): void {
    this.sock.end();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** Dot-stuffs a message and makes sure it ends in CRLF (for DATA). */
export function dotStuff(raw: Buffer): Buffer {
  let s = raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  if (!s.endsWith('\r\n')) s += '\r\n';
  return Buffer.from(s, 'latin1');
}

/** Builds a unique message of about `bodyBytes` bytes (CRLF, 7-bit); the token is in Subject and body. */
export function makeMessage(opts: { from?: string; to: string; token?: string; bodyBytes?: number }): {
  raw: Buffer;
  token: string;
} {
  const token = opts.token ?? randomBytes(8).toString('hex');
  const head =
    `From: <${opts.from ?? 'sender@client.test'}>\r\nTo: <${opts.to}>\r\nSubject: test ${token}\r\n` +
    `Message-ID: <${token}@client.test>\r\nDate: Tue, 26 Nov 2026 01:02:03 +0000\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n\r\n`;
  const lines: string[] = [`token ${token}`];
  let n = lines[0]!.length + 2;
  const want = opts.bodyBytes ?? 200;
  while (n < want) {
    const line = randomBytes(36).toString('base64');
    lines.push(line);
    n += line.length + 2;
  }
  return { raw: Buffer.from(`${head}${lines.join('\r\n')}\r\n`, 'latin1'), token };
}

/** Runs swaks (no shell). */
export function swaks(args: readonly string[], input?: Buffer): Promise<RunResult> {
  return run('swaks', ['--hide-informational', ...args], input);
}

/** Removes the first header line block starting with `Received:` (with its folded lines). */
export function stripFirstReceived(raw: Buffer): Buffer {
  const s = raw.toString('latin1');
  if (!s.startsWith('Received:')) throw new Error('message does not start with Received:');
  const m = /^Received:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n/.exec(s);
  if (!m) throw new Error('cannot find the end of the Received header');
  return raw.subarray(Buffer.byteLength(m[0], 'latin1'));
}

/** A handled message as the handler saw it. */
export interface Captured {
  raw: Buffer;
  rcpt: string[];
  mailFrom: string | null;
}

export interface SmtpBed {
  app: App;
  listener: PushListener;
  port: number;
  dir: string;
  handled: Captured[];
  close(): Promise<void>;
}

/** Starts app + listener; `push` is merged into the push config (listen defaults to a random port). */
export async function startSmtpBed(
  push: Record<string, unknown> = {},
  opts: { routes?: unknown[]; log?: Logger; dir?: string } = {},
): Promise<SmtpBed> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mi-smtp-')));
  const routes = opts.routes;
  const config = validateConfig({
    store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
    push: { listen: '127.0.0.1:0', hostname: 'mx.test', domains: ['example.test'], ...push },
    routes: routes ?? [
      { name: 'tickets', to: 'reply+{ticket}@reply.test', handlers: ['capture'] },
      { name: 'all', handlers: ['capture'] },
    ],
    handlers: { capture: { file: { path: join(dir, 'out') } } },
  });
  const handled: Captured[] = [];
  const capture: Handler = {
    name: 'capture',
    handle(msg: MessageContext) {
      handled.push({
        raw: Buffer.from(msg.raw),
        rcpt: [...msg.envelope.rcptTo],
        mailFrom: msg.envelope.mailFrom,
      });
      return Promise.resolve();
    },
  };
  const log = opts.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' });
  const app = createApp(config, dir, log, { handlers: new Map([['capture', capture]]) });
  app.pipeline.start();
  const listener = await startPushListener({
    config: config.push!,
    intake: app.intake,
    log,
    routeRecipients: config.routes.flatMap((r) =>
      r.to === undefined ? [] : Array.isArray(r.to) ? r.to : [r.to],
    ),
    baseDir: dir,
  });
  return {
    app,
    listener,
    port: listener.address().port,
    dir,
    handled,
    async close() {
      await listener.close(1000);
      await app.close();
    },
  };
}
