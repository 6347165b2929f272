/**
 * classify(raw): auto-reply, bounce and loop verdicts for every inbound message (hot path).
 *
 * Guarantees: never throws (an internal error yields negative verdicts carrying the error as a
 * reason); bounded work (header scan capped at MAX_HEADER_BYTES; the body is walked only when the
 * headers suggest a report, and then at most MAX_DEEP_BYTES); ordinary mail costs one header scan.
 */
import type { AutoReplyVerdict, Classification, LoopVerdict } from './types.js';
import { readHeaders } from './headers.js';
import { detectAutoReply } from './autoreply.js';
import { detectLoop, type LoopOptions } from './loop.js';
import { bounceSuspicion } from './suspect.js';
import { detectBounce, noBounce } from './bounce.js';

export type ClassifyOptions = LoopOptions;

export { MAX_HEADER_BYTES } from './headers.js';
export { MAX_DEEP_BYTES } from './mime.js';
export type { LoopOptions } from './loop.js';

function failed(reason: string): Classification {
  const autoReply: AutoReplyVerdict = { autoReply: false, reasons: [reason], kind: 'none' };
  const loop: LoopVerdict = { loop: false, hops: 0, reasons: [reason] };
  return { autoReply, bounce: noBounce([reason]), loop };
}

export function classify(raw: Buffer, options: ClassifyOptions = {}): Classification {
  try {
    const { fields, bodyOffset } = readHeaders(raw);
    const loop = detectLoop(fields, options);
    const suspicion = bounceSuspicion(fields);
    const bounce = suspicion.length > 0 ? detectBounce(raw, fields, bodyOffset, suspicion) : noBounce();
    const autoReply = detectAutoReply(fields, bounce.bounce);
    return { autoReply, bounce, loop };
  } catch (err) {
    return failed(`classify error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
