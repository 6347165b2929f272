// The wire side of a POP3 session: one socket (plain, TLS, or upgraded by STLS), a FIFO of command
// exchanges, and the response reader feeding them. Guarantees: every exchange settles; an idle timer
// runs while any exchange is pending (refreshed by incoming bytes) and on expiry destroys the socket
// and rejects all pending exchanges; after any failure the session rejects further commands.
import type { Socket } from 'node:net';
import { Pop3Error, classifyErrResponse, classifySocketError } from './errors.js';
import { Exchange, type ExchangeResult, type ExchangeSpec } from './exchange.js';
import { ResponseReader } from './response-reader.js';
import { upgradeSocket, type Pop3TlsOptions } from './transport.js';

/** pino-compatible logger subset. */
export interface Pop3Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Settings of a {@link Pop3Session}. */
export interface SessionOptions {
  timeoutMs: number;
  maxMessageBytes: number;
  logger: Pop3Logger | undefined;
}

const SECRET_COMMANDS = new Set(['PASS', 'APOP', 'AUTH']);
const PIPELINABLE = new Set(['RETR', 'TOP', 'DELE', 'LIST', 'UIDL', 'STAT', 'NOOP', 'RSET']);

export class Pop3Session {
  /** Send pipelinable commands without waiting for earlier replies (set after CAPA). */
  pipelined = false;
  private readonly queue: Exchange[] = [];
  private readonly reader: ResponseReader;
  private timer: NodeJS.Timeout | undefined;
  private closedError: Pop3Error | undefined;
  private readonly onData = (d: Buffer): void => this.receive(d);
  private readonly onError = (e: Error): void => this.fail(classifySocketError(e, this.queue[0]?.name));
  private readonly onClose = (): void =>
    this.fail(new Pop3Error('CONNECTION', 'connection closed by server', true, { command: this.queue[0]?.name })); // prettier-ignore

  constructor(
    private socket: Socket,
    private readonly opts: SessionOptions,
  ) {
    this.reader = new ResponseReader({
      onLine: (line) => this.onLine(line),
      onData: (chunk) => this.queue[0]?.data(chunk),
      onEnd: () => this.complete(),
    });
    this.attach(socket);
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  get secure(): boolean {
    return 'encrypted' in this.socket;
  }

  /** Queues a command (or the greeting, line undefined) and resolves with its reply. */
  exchange(spec: ExchangeSpec): Promise<ExchangeResult> {
    if (this.closedError) return Promise.reject(this.closedError);
    const ex = new Exchange(spec, this.opts.maxMessageBytes, this.socket);
    this.queue.push(ex);
    if (spec.line !== undefined) {
      const arg = SECRET_COMMANDS.has(spec.name) ? '' : spec.line.slice(spec.name.length + 1);
      this.opts.logger?.debug({ action: 'pop3.command', command: spec.name, ...(arg ? { arg } : {}) }, 'pop3 command'); // prettier-ignore
    }
    if (this.queue.length === 1) this.startHead();
    else if (this.pipelined && PIPELINABLE.has(spec.name)) ex.send(this.socket);
    return ex.promise;
  }

  /** STLS: stops reading plaintext right at the +OK (later bytes would be injected), then upgrades. */
  async startTls(host: string, tls: Pop3TlsOptions): Promise<void> {
    if (this.secure) throw new Pop3Error('PROTOCOL', 'connection is already TLS', false, { command: 'STLS' });
    const plain = this.socket;
    const after = (): void => {
      this.reader.discardRest();
      this.detach(plain);
    };
    await this.exchange({ name: 'STLS', line: 'STLS', after });
    try {
      this.socket = await upgradeSocket(plain, host, tls, this.opts.timeoutMs);
    } catch (err) {
      const e = classifySocketError(err, 'STLS');
      this.fail(e);
      throw e;
    }
    this.attach(this.socket);
    this.pipelined = false;
  }

  /** Ends the session: destroys the socket and rejects whatever is pending with `err`. */
  fail(err: Pop3Error): void {
    if (this.closedError) return;
    this.closedError =
      err.code === 'CLOSED' ? err : new Pop3Error('CLOSED', `session failed: ${err.message}`, true, { cause: err }); // prettier-ignore
    clearTimeout(this.timer);
    this.detach(this.socket);
    this.socket.on('error', () => undefined);
    this.socket.destroy();
    for (const ex of this.queue.splice(0)) ex.reject(err);
    if (err.code !== 'CLOSED') {
      this.opts.logger?.warn(
        { action: 'pop3.failed', code: err.code, err: err.message },
        'pop3 session failed',
      );
    }
  }

  private startHead(): void {
    const head = this.queue[0];
    if (!head) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    head.send(this.socket);
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.onTimeout(), this.opts.timeoutMs);
  }

  private onTimeout(): void {
    const name = this.queue[0]?.name ?? 'idle';
    const msg = `${name}: no response within ${this.opts.timeoutMs} ms`;
    this.fail(new Pop3Error('TIMEOUT', msg, true, { command: name }));
  }

  private receive(chunk: Buffer): void {
    this.timer?.refresh();
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(classifySocketError(err, this.queue[0]?.name));
    }
  }

  private onLine(line: Buffer): void {
    const head = this.queue[0];
    const text = line.toString('utf8');
    if (!head) throw new Pop3Error('PROTOCOL', `unexpected server data: ${text.slice(0, 100)}`, false);
    if (text.startsWith('+OK')) {
      head.text = text.slice(3).trimStart();
      if (head.multi) this.reader.startBody();
      else this.complete();
    } else if (text.startsWith('-ERR')) {
      head.reject(classifyErrResponse(head.name, text.slice(4)));
      this.complete();
    } else if ((text === '+' || text.startsWith('+ ')) && head.onContinuation) {
      this.socket.write(`${head.onContinuation(text.slice(2))}\r\n`);
    } else {
      const msg = `${head.name}: unexpected reply ${JSON.stringify(text.slice(0, 100))}`;
      throw new Pop3Error('PROTOCOL', msg, false, { command: head.name });
    }
  }

  private complete(): void {
    this.queue.shift()?.finish();
    this.startHead();
  }

  private attach(sock: Socket): void {
    sock.on('data', this.onData);
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
  }

  private detach(sock: Socket): void {
    sock.removeListener('data', this.onData);
    sock.removeListener('error', this.onError);
    sock.removeListener('close', this.onClose);
  }
}
