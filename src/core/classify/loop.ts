/**
 * Loop detection: our own notifications carry LOOP_HEADER; seeing it again means the message went
 * round. Optionally an `X-Loop` value (procmail/list convention) set by the operator also counts.
 */
import { LOOP_HEADER, type LoopVerdict } from './types.js';
import type { HeaderField } from './headers.js';

export interface LoopOptions {
  /** Hops at or above which the message counts as a loop (default 1). */
  threshold?: number;
  /** An `X-Loop` value (case-insensitive) that identifies us. */
  xLoop?: string;
}

const OWN = LOOP_HEADER.toLowerCase();

export function detectLoop(fields: readonly HeaderField[], options: LoopOptions = {}): LoopVerdict {
  const threshold = Math.max(1, options.threshold ?? 1);
  const xLoop = options.xLoop?.trim().toLowerCase();
  let hops = 0;
  const reasons: string[] = [];
  for (const f of fields) {
    if (f.name === OWN) hops++;
    else if (xLoop && f.name === 'x-loop' && f.value.trim().toLowerCase() === xLoop)
      reasons.push(`X-Loop: ${f.value.trim()}`);
  }
  if (hops > 0) reasons.unshift(`${LOOP_HEADER} x${hops}`);
  const loop = hops >= threshold || reasons.some((r) => r.startsWith('X-Loop'));
  return { loop, hops, reasons: loop ? reasons : [] };
}
