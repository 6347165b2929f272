// A small POP3 client on net/tls. Guarantees: message bytes come back exactly as stored (Buffer,
// dot-unstuffed, never decoded), every command settles (an idle timer per active command destroys the
// connection and rejects everything pending), failures are typed Pop3Errors, certificates are verified
// by default, and secrets (PASS, APOP digest, AUTH data) never reach the logger.
import type { Writable } from 'node:stream';
import { Pop3Error } from './errors.js';
import type { ExchangeResult, ExchangeSpec } from './exchange.js';
import * as proto from './protocol.js';
import { Pop3Session, type Pop3Logger } from './session.js';
import { openSocket, type Pop3TlsOptions } from './transport.js';

export { Pop3Error, Pop3SizeError, type Pop3ErrorCode } from './errors.js';
export type { Pop3Capabilities, Pop3ListEntry, Pop3Stat, Pop3UidlEntry } from './protocol.js';
export type { Pop3Logger } from './session.js';
export type { Pop3TlsOptions } from './transport.js';

/** Credentials: USER/PASS (default), APOP, or SASL XOAUTH2 with an access token. */
export type Pop3Auth =
  { user: string; password: string; method?: 'pass' | 'apop' } | { user: string; accessToken: string };

/** Options of {@link Pop3Client.connect}. */
export interface Pop3ClientOptions extends Pop3TlsOptions {
  host: string;
  /** Default 995 with tls 'implicit', else 110. */
  port?: number;
  /** 'implicit' (pop3s), 'starttls' (STLS, required) or 'none'. Default: 'implicit' on 995, else 'starttls'. */
  tls?: 'implicit' | 'starttls' | 'none';
  /** Log in right after connecting. */
  auth?: Pop3Auth;
  /** Max ms without progress on an active command (and for connect/handshake). Default 30 000. */
  timeoutMs?: number;
  /** Max bytes of one RETR/TOP body. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Pipeline commands when the server's CAPA lists PIPELINING (default true). */
  pipelining?: boolean;
  logger?: Pop3Logger;
}

/** One POP3 session. Not reusable after quit()/destroy() or a connection failure. */
export class Pop3Client {
  /** The server greeting (text after "+OK"). */
  greeting = '';
  /** Capabilities from the last capa() call, if any. */
  capabilities: proto.Pop3Capabilities | undefined;
  private constructor(
    private readonly session: Pop3Session,
    private readonly opts: Pop3ClientOptions,
  ) {}

  /** Connects, reads the greeting, does STLS when asked, and logs in when `auth` is given. */
  static async connect(opts: Pop3ClientOptions): Promise<Pop3Client> {
    const mode = opts.tls ?? (opts.port === 995 ? 'implicit' : 'starttls');
    const port = opts.port ?? (mode === 'implicit' ? 995 : 110);
    const socket = await openSocket(opts.host, port, mode === 'implicit', opts, timeoutOf(opts));
    const session = new Pop3Session(socket, {
      timeoutMs: timeoutOf(opts),
      maxMessageBytes: opts.maxMessageBytes ?? 64 * 1024 * 1024,
      logger: opts.logger,
    });
    const client = new Pop3Client(session, opts);
    try {
      client.greeting = (await client.enqueue({ name: 'GREETING', line: undefined })).text;
      if (mode === 'starttls') await client.stls();
      if (opts.auth) await client.authenticate(opts.auth);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  /** True once the session ended (QUIT, destroy, or failure). */
  get closed(): boolean {
    return this.session.closed;
  }

  /** True when the connection is TLS (implicit or after STLS). */
  get secure(): boolean {
    return this.session.secure;
  }

  /** CAPA; also enables pipelining when advertised (and allowed by options). */
  async capa(): Promise<proto.Pop3Capabilities> {
    const res = await this.enqueue({ name: 'CAPA', line: 'CAPA', multi: true });
    this.capabilities = proto.parseCapa(proto.bodyLines(res.body));
    this.session.pipelined = this.opts.pipelining !== false && this.capabilities.has('PIPELINING');
    return this.capabilities;
  }

  /** STLS: upgrades the connection to TLS, verifying the certificate (unless disabled). */
  async stls(): Promise<void> {
    await this.session.startTls(this.opts.host, this.opts);
    this.capabilities = undefined;
  }

  /** Logs in with the given credentials. */
  async authenticate(auth: Pop3Auth): Promise<void> {
    if ('accessToken' in auth) return this.xoauth2(auth.user, auth.accessToken);
    if (auth.method === 'apop') return this.apop(auth.user, auth.password);
    return this.login(auth.user, auth.password);
  }

  /** USER + PASS. */
  async login(user: string, password: string): Promise<void> {
    await this.enqueue({ name: 'USER', line: `USER ${user}` });
    await this.enqueue({ name: 'PASS', line: `PASS ${password}` });
  }

  /** APOP (needs a timestamp in the greeting). */
  async apop(user: string, password: string): Promise<void> {
    const ts = proto.apopTimestamp(this.greeting);
    if (!ts) throw new Pop3Error('UNSUPPORTED', 'server greeting has no APOP timestamp', false, { command: 'APOP' }); // prettier-ignore
    await this.enqueue({ name: 'APOP', line: `APOP ${user} ${proto.apopDigest(ts, password)}` });
  }

  /** SASL XOAUTH2 with an initial response; answers an error challenge with an empty line. */
  async xoauth2(user: string, accessToken: string): Promise<void> {
    const line = `AUTH XOAUTH2 ${proto.xoauth2Response(user, accessToken)}`;
    await this.enqueue({ name: 'AUTH', line, onContinuation: () => '' });
  }

  async stat(): Promise<proto.Pop3Stat> {
    return proto.parseStat((await this.enqueue({ name: 'STAT', line: 'STAT' })).text);
  }

  async list(): Promise<proto.Pop3ListEntry[]> {
    const res = await this.enqueue({ name: 'LIST', line: 'LIST', multi: true });
    return proto.bodyLines(res.body).map(proto.parseListLine);
  }

  async listOne(n: number): Promise<proto.Pop3ListEntry> {
    return proto.parseListLine((await this.enqueue({ name: 'LIST', line: `LIST ${msgNo(n)}` })).text);
  }

  async uidl(): Promise<proto.Pop3UidlEntry[]> {
    const res = await this.enqueue({ name: 'UIDL', line: 'UIDL', multi: true });
    return proto.bodyLines(res.body).map(proto.parseUidlLine);
  }

  async uidlOne(n: number): Promise<proto.Pop3UidlEntry> {
    return proto.parseUidlLine((await this.enqueue({ name: 'UIDL', line: `UIDL ${msgNo(n)}` })).text);
  }

  /** The whole message as bytes (Pop3SizeError over maxMessageBytes; the session stays usable). */
  async retr(n: number): Promise<Buffer> {
    return (await this.enqueue({ name: 'RETR', line: `RETR ${msgNo(n)}`, multi: true, capped: true })).body;
  }

  /**
   * Streams the message into `out` (backpressure respected). Resolves with the byte count once every
   * byte was handed to `out.write`; `out` is not ended: end it and await 'finish' yourself. On
   * Pop3SizeError `out` holds a partial message: discard it.
   */
  async retrTo(n: number, out: Writable): Promise<number> {
    const res = await this.enqueue({
      name: 'RETR',
      line: `RETR ${msgNo(n)}`,
      multi: true,
      capped: true,
      out,
    });
    return res.bytes;
  }

  /** Fetches many messages, keeping up to `window` RETRs in flight (pipelined when the server allows). */
  async retrMany(
    ns: readonly number[],
    onMessage: (n: number, raw: Buffer) => void | Promise<void>,
    window = 16,
  ): Promise<void> {
    const inFlight: Array<Promise<Buffer>> = [];
    let next = 0;
    for (let i = 0; i < ns.length; i++) {
      while (next < ns.length && next - i < window) inFlight.push(this.retr(ns[next++] as number));
      const raw = await (inFlight.shift() as Promise<Buffer>).catch((err: unknown) => {
        for (const p of inFlight) p.catch(() => undefined);
        throw err;
      });
      await onMessage(ns[i] as number, raw);
    }
  }

  /** Headers plus `lines` body lines. */
  async top(n: number, lines: number): Promise<Buffer> {
    return (await this.enqueue({ name: 'TOP', line: `TOP ${msgNo(n)} ${msgNo(lines, 0)}`, multi: true, capped: true })).body; // prettier-ignore
  }

  async dele(n: number): Promise<void> {
    await this.enqueue({ name: 'DELE', line: `DELE ${msgNo(n)}` });
  }

  async rset(): Promise<void> {
    await this.enqueue({ name: 'RSET', line: 'RSET' });
  }

  async noop(): Promise<void> {
    await this.enqueue({ name: 'NOOP', line: 'NOOP' });
  }

  /** QUIT: commits DELEs (server UPDATE state), then closes the socket. */
  async quit(): Promise<void> {
    if (this.closed) return;
    await this.enqueue({ name: 'QUIT', line: 'QUIT' });
    this.session.fail(new Pop3Error('CLOSED', 'session ended with QUIT', true));
  }

  /** Drops the connection without QUIT (the server rolls back DELEs). */
  destroy(): void {
    this.session.fail(new Pop3Error('CLOSED', 'session destroyed', true));
  }

  private enqueue(spec: ExchangeSpec): Promise<ExchangeResult> {
    return this.session.exchange(spec);
  }
}

function timeoutOf(opts: Pop3ClientOptions): number {
  return opts.timeoutMs ?? 30_000;
}

function msgNo(n: number, min = 1): string {
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`invalid message number ${n}`);
  return String(n);
}
