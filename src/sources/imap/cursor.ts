/**
 * Cursor math, pure. Per mailbox we keep the UIDVALIDITY and a UID cursor: every UID <= cursor
 * that still exists on the server is in the ledger. The cursor only moves past UIDs that intake
 * recorded, so a crash between download and ledger commit re-fetches instead of losing mail.
 */

/** Position key `imap:<source>:<mailbox>:<UIDVALIDITY>:<UID>` (the mailbox may contain ':'). */
export function positionKey(source: string, mailbox: string, uidValidity: string, uid: number): string {
  return `imap:${source}:${mailbox}:${uidValidity}:${uid}`;
}

/** A parsed position key. */
export interface Position {
  mailbox: string;
  uidValidity: string;
  uid: number;
}

/** Parses a position key of `source`; null when it is not one of ours or malformed. */
export function parsePositionKey(key: string, source: string): Position | null {
  const prefix = `imap:${source}:`;
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const m = /^(.+):(\d+):(\d+)$/.exec(rest);
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) return null;
  const uid = Number(m[3]);
  if (!Number.isSafeInteger(uid) || uid < 1) return null;
  return { mailbox: m[1], uidValidity: m[2], uid };
}

/** State keys (per source) for one mailbox. */
export const stateKeys = (mailbox: string) => ({
  uidValidity: `mailbox:${mailbox}:uidvalidity`,
  cursor: `mailbox:${mailbox}:cursor`,
});

/** What to do with the stored cursor after SELECT. */
export interface CursorDecision {
  cursor: number;
  /** Why the cursor was (re)set, for the log; null when the stored cursor stands. */
  reset: 'first-run-backlog' | 'first-run-new' | 'uidvalidity-changed' | null;
}

/**
 * Decides the starting cursor. First run: 0 (backlog) or `uidNext - 1` (only new mail).
 * UIDVALIDITY changed: 0, re-fetch everything. The ledger's content-key dedupe turns mail seen
 * before into `skipped` duplicates, so nothing is handled twice and each copy is still settled.
 */
export function decideCursor(input: {
  storedValidity: string | undefined;
  storedCursor: string | undefined;
  uidValidity: string;
  uidNext: number;
  startFrom: 'backlog' | 'new';
}): CursorDecision {
  if (input.storedValidity === undefined) {
    return input.startFrom === 'new'
      ? { cursor: Math.max(0, input.uidNext - 1), reset: 'first-run-new' }
      : { cursor: 0, reset: 'first-run-backlog' };
  }
  if (input.storedValidity !== input.uidValidity) return { cursor: 0, reset: 'uidvalidity-changed' };
  const c = Number(input.storedCursor ?? '0');
  return { cursor: Number.isSafeInteger(c) && c >= 0 ? c : 0, reset: null };
}

/**
 * Advances the cursor over `listed` (the UIDs > cursor the server listed this pass, any order)
 * while each is in the ledger; stops at the first one that is not. UIDs the server did not list
 * (expunged by someone else) are gaps the cursor may pass.
 */
export function advanceCursor(
  cursor: number,
  listed: readonly number[],
  inLedger: (uid: number) => boolean,
): number {
  const sorted = listed.filter((u) => u > cursor).sort((a, b) => a - b);
  let c = cursor;
  for (const uid of sorted) {
    if (!inLedger(uid)) break;
    c = uid;
  }
  return c;
}

/** A message to fetch: UID and RFC822.SIZE. */
export interface Candidate {
  uid: number;
  size: number;
}

/** Splits candidates (in UID order) into chunks of at most `maxCount` messages and `maxBytes` bytes
 * (a single message larger than maxBytes forms its own chunk). */
export function chunkCandidates(
  items: readonly Candidate[],
  maxCount: number,
  maxBytes: number,
): Candidate[][] {
  const out: Candidate[][] = [];
  let cur: Candidate[] = [];
  let bytes = 0;
  for (const it of items) {
    if (cur.length > 0 && (cur.length >= maxCount || bytes + it.size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += it.size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Compact IMAP UID set: [1,2,3,5,7,8] → "1:3,5,7:8". */
export function uidSet(uids: readonly number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i]!;
    parts.push(start === end ? String(start) : `${start}:${end}`);
    i++;
  }
  return parts.join(',');
}

/** A usable UIDVALIDITY as a decimal string, or null (no mailbox selected, connection lost). */
export function validityOf(v: unknown): string | null {
  if (typeof v === 'bigint' && v > 0n) return v.toString();
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return String(v);
  return null;
}
