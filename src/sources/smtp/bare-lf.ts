/**
 * Bare-LF policy for DATA. smtp-server passes bare LF line endings through unchanged (only CRLF.CRLF
 * ends DATA, so no smuggling), which is fine for a final-delivery sink but suspicious: `accept` keeps
 * the bytes as sent (default; handlers get exactly the client's bytes), `reject` answers
 * `550 5.6.0` when any LF in the message is not preceded by CR. The check never alters bytes; in
 * reject mode it refuses only at the end of the stream, after the client's data was fully read, so
 * the protocol can still answer. It is a chunk inspector of the spool's stream writer (no stream of
 * its own between the client and the spool).
 */
import type { ChunkInspector } from '../../store/spool.js';

export class BareLfError extends Error {
  readonly responseCode = 550;
  constructor() {
    super('5.6.0 Message contains bare LF line endings; use CRLF');
    this.name = 'BareLfError';
  }
}

/** Index of the first bare LF in `chunk` given the previous chunk's last byte, or -1. */
export function findBareLf(chunk: Buffer, prevByte: number): number {
  let i = chunk.indexOf(0x0a);
  while (i >= 0) {
    const before = i === 0 ? prevByte : chunk[i - 1];
    if (before !== 0x0d) return i;
    i = chunk.indexOf(0x0a, i + 1);
  }
  return -1;
}

export class BareLfCheck implements ChunkInspector {
  private prev = -1;
  /** True once a bare LF was seen. */
  seen = false;

  constructor(private readonly reject: boolean) {}

  update(chunk: Buffer): void {
    if (this.seen || chunk.length === 0) return;
    if (findBareLf(chunk, this.prev) >= 0) this.seen = true;
    this.prev = chunk[chunk.length - 1] ?? this.prev;
  }

  finish(): Error | null {
    return this.reject && this.seen ? new BareLfError() : null;
  }
}
