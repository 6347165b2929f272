// Byte-level POP3 response reader. Guarantees: status lines and multi-line bodies are recognised no
// matter how the server's bytes are split across TCP reads (the terminating CRLF.CRLF may arrive one
// byte at a time), dot-stuffing is undone, body bytes are passed on untouched as Buffer slices (no
// decoding, no per-chunk concatenation), and a server using bare LF line ends is tolerated.
import { Pop3Error } from './errors.js';

/** Callbacks of {@link ResponseReader}; all are called synchronously from `push`. */
export interface ReaderHandlers {
  /** A status (or continuation) line, without its CRLF/LF. Call `startBody()` from here for multi-line. */
  onLine(line: Buffer): void;
  /** Unstuffed body bytes; the slice may share memory with the pushed chunk. */
  onData(chunk: Buffer): void;
  /** The body's terminating "." line was read. */
  onEnd(): void;
}

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CR_BUF = Buffer.from([CR]);
const LF_DOT = Buffer.from([LF, DOT]);

/** Where the body parser stands: at a line start, after a line-start dot, after ".\r", or mid-line. */
type BodyState = 'bol' | 'dot' | 'dotcr' | 'mid';

/** Incremental parser of a POP3 response stream (greeting, status lines, multi-line bodies). */
export class ResponseReader {
  private inBody = false;
  private state: BodyState = 'bol';
  private lineParts: Buffer[] = [];
  private lineLength = 0;
  private discarding = false;

  constructor(
    private readonly handlers: ReaderHandlers,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  /** Switches to multi-line mode for the bytes following the status line just delivered. */
  startBody(): void {
    this.inBody = true;
    this.state = 'bol';
  }

  /** Drops the rest of the chunk being pushed (used right after STLS +OK). */
  discardRest(): void {
    this.discarding = true;
  }

  /** True while a multi-line body is being read. */
  get readingBody(): boolean {
    return this.inBody;
  }

  /** Feeds bytes from the socket. Throws Pop3Error('PROTOCOL') on an over-long status line. */
  push(chunk: Buffer): void {
    let pos = 0;
    this.discarding = false;
    while (pos < chunk.length && !this.discarding) {
      pos = this.inBody ? this.body(chunk, pos) : this.line(chunk, pos);
    }
  }

  private line(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf < 0 ? chunk.length : lf;
    this.lineLength += end - pos;
    if (this.lineLength > this.maxLineBytes) {
      throw new Pop3Error('PROTOCOL', `status line longer than ${this.maxLineBytes} bytes`, false);
    }
    this.lineParts.push(chunk.subarray(pos, end));
    if (lf < 0) return chunk.length;
    let line = this.lineParts.length === 1 ? (this.lineParts[0] as Buffer) : Buffer.concat(this.lineParts);
    this.lineParts = [];
    this.lineLength = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    this.handlers.onLine(line);
    return lf + 1;
  }

  /** Consumes body bytes from `pos`; returns the position after what was consumed. */
  private body(chunk: Buffer, pos: number): number {
    let p = pos;
    while (p < chunk.length) {
      const byte = chunk[p] as number;
      switch (this.state) {
        case 'bol':
          if (byte === DOT) {
            this.state = 'dot';
            p++;
            break;
          }
          this.state = 'mid';
          break;
        case 'dot':
          if (byte === LF) return this.finish(p + 1);
          if (byte === CR) {
            this.state = 'dotcr';
            p++;
            break;
          }
          // A stuffed line: the leading dot is dropped, the rest is ordinary line content.
          this.state = 'mid';
          break;
        case 'dotcr':
          if (byte === LF) return this.finish(p + 1);
          // ".\r" followed by something else: not a terminator; keep the CR as content.
          this.handlers.onData(CR_BUF);
          this.state = 'mid';
          break;
        case 'mid': {
          // Everything up to the next line that starts with a dot is plain content: one slice per
          // run of lines, not one per line.
          const hit = chunk.indexOf(LF_DOT, p);
          if (hit >= 0) {
            this.handlers.onData(chunk.subarray(p, hit + 1));
            this.state = 'dot';
            p = hit + 2;
            break;
          }
          this.handlers.onData(p === 0 ? chunk : chunk.subarray(p));
          if (chunk[chunk.length - 1] === LF) this.state = 'bol';
          p = chunk.length;
          break;
        }
      }
    }
    return p;
  }

  private finish(next: number): number {
    this.inBody = false;
    this.state = 'bol';
    this.handlers.onEnd();
    return next;
  }
}
