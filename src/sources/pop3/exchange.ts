// One command/response exchange of the POP3 client: collects (or streams) the body with a size cap
// and settles its promise exactly once. After a size overflow or a failing Writable it keeps
// swallowing the rest of the body, so the session stays usable.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { Pop3Error, Pop3SizeError } from './errors.js';

/** What to send and how to read the reply. */
export interface ExchangeSpec {
  /** Command name (for errors and logs; never the arguments). */
  name: string;
  /** Command line without CRLF; undefined for the greeting. */
  line: string | undefined;
  /** A +OK reply is followed by a multi-line body. */
  multi?: boolean;
  /** Apply maxMessageBytes to the body. */
  capped?: boolean;
  /** Stream the body here instead of collecting it. */
  out?: Writable;
  /** Runs synchronously when +OK completes the exchange (before any further bytes are parsed). */
  after?: () => void;
  /** Answer for a "+ " continuation line (SASL). */
  onContinuation?: (text: string) => string;
}

/** Result of an exchange. `body` is empty when streamed to `out`. */
export interface ExchangeResult {
  text: string;
  body: Buffer;
  bytes: number;
}

export class Exchange {
  readonly promise: Promise<ExchangeResult>;
  readonly name: string;
  readonly multi: boolean;
  readonly onContinuation: ((text: string) => string) | undefined;
  text = '';
  private parts: Buffer[] = [];
  private bytes = 0;
  private settled = false;
  private sent = false;
  private paused = false;
  private resolveFn!: (r: ExchangeResult) => void;
  private rejectFn!: (e: Pop3Error) => void;

  constructor(
    private readonly spec: ExchangeSpec,
    private readonly maxBytes: number,
    private readonly socket: Socket,
  ) {
    this.name = spec.name;
    this.multi = spec.multi ?? false;
    this.onContinuation = spec.onContinuation;
    this.promise = new Promise((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    // Callers may not await at once (pipelining); the rejection is still delivered to them.
    this.promise.catch(() => undefined);
  }

  /** Writes the command once. */
  send(sock: Socket): void {
    if (this.sent || this.spec.line === undefined) return;
    this.sent = true;
    sock.write(`${this.spec.line}\r\n`);
  }

  /** Body bytes (already unstuffed). */
  data(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.settled) return;
    if (this.spec.capped && this.bytes > this.maxBytes) {
      this.parts = [];
      this.reject(new Pop3SizeError(this.maxBytes, this.name));
      return;
    }
    const out = this.spec.out;
    if (!out) {
      this.parts.push(chunk);
      return;
    }
    if (out.destroyed || out.writableEnded) {
      this.reject(new Pop3Error('ERR', `${this.name}: output stream closed`, false, { command: this.name }));
      return;
    }
    if (!out.write(chunk) && !this.paused) {
      this.paused = true;
      this.socket.pause();
      const resume = (): void => {
        out.removeListener('drain', resume);
        out.removeListener('close', resume);
        this.paused = false;
        this.socket.resume();
      };
      out.once('drain', resume);
      out.once('close', resume);
    }
  }

  /** The reply is complete (single line or body end). */
  finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.spec.after?.();
    const body = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.resolveFn({ text: this.text, body: this.spec.out ? Buffer.alloc(0) : body, bytes: this.bytes });
  }

  reject(err: Pop3Error): void {
    if (this.settled) return;
    this.settled = true;
    if (this.paused) this.socket.resume();
    this.rejectFn(err);
  }
}
