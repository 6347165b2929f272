/**
 * Pure decisions of the POP3 source: which listed messages to download this run (position keys,
 * size caps, per-run limits) and what to do with each message still on the server once its ledger
 * row is known (DELE, keep, leave). No I/O here; the source feeds it UIDL/LIST results and ledger
 * rows, so every rule is unit-tested directly.
 */
import type { Pop3Config } from '../../config/schema.js';
import type { LedgerRow } from '../../store/types.js';

/** One message on the server in this session: number, unique id and LIST size. */
export interface Listed {
  n: number;
  uid: string;
  size: number;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** `pop3:<source>:<UIDL>`. */
export function positionKey(source: string, uid: string): string {
  return `pop3:${source}:${uid}`;
}

/** The UIDL of a position key of `source`, or undefined for any other key. */
export function uidOfPosition(source: string, key: string): string | undefined {
  const prefix = `pop3:${source}:`;
  return key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
}

/** Joins UIDL and LIST replies by message number (a number missing from LIST gets size 0). */
export function joinListing(
  uidl: ReadonlyArray<{ n: number; uid: string }>,
  list: ReadonlyArray<{ n: number; size: number }>,
): Listed[] {
  const sizes = new Map(list.map((e) => [e.n, e.size]));
  return uidl.map((e) => ({ n: e.n, uid: e.uid, size: sizes.get(e.n) ?? 0 })).sort((a, b) => a.n - b.n);
}

export interface FetchLimits {
  maxMessageSize: number;
  maxPerRun?: number | undefined;
  maxBytesPerRun?: number | undefined;
}

export interface FetchPlan {
  /** To download now, in server order. */
  fetch: Listed[];
  /** Over maxMessageSize: recorded as dead without download, left on the server. */
  oversize: Listed[];
  /** New messages left for a later run because of maxPerRun / maxBytesPerRun. */
  deferred: number;
}

/**
 * Picks the new messages (`known` false) to download. Oversize ones never count against the
 * limits. The first message of a run is always taken, even if it alone exceeds maxBytesPerRun,
 * so a run always makes progress.
 */
export function planFetch(
  listed: readonly Listed[],
  known: (uid: string) => boolean,
  limits: FetchLimits,
): FetchPlan {
  const plan: FetchPlan = { fetch: [], oversize: [], deferred: 0 };
  let bytes = 0;
  for (const m of listed) {
    if (known(m.uid)) continue;
    if (m.size > limits.maxMessageSize) {
      plan.oversize.push(m);
      continue;
    }
    const full =
      (limits.maxPerRun !== undefined && plan.fetch.length >= limits.maxPerRun) ||
      (limits.maxBytesPerRun !== undefined &&
        plan.fetch.length > 0 &&
        bytes + m.size > limits.maxBytesPerRun);
    if (full) {
      plan.deferred++;
      continue;
    }
    plan.fetch.push(m);
    bytes += m.size;
  }
  return plan;
}

/**
 * What to do with one message on the server:
 * - `dele`: outcome final and delivered/skipped, and leaveOnServer allows deleting it now;
 * - `keep`: final and delivered/skipped but kept (leaveOnServer true, or not old enough yet);
 * - `leave`: dead (quarantined: stays on the server, never DELE);
 * - `wait`: no final outcome yet (received, processing, failed/retrying): decide on a later run.
 */
export type Disposition = 'dele' | 'keep' | 'leave' | 'wait';

export function disposition(
  row: Pick<LedgerRow, 'status' | 'receivedAt'>,
  leaveOnServer: Pop3Config['leaveOnServer'],
  now: number,
): Disposition {
  if (row.status === 'dead') return 'leave';
  if (row.status !== 'delivered' && row.status !== 'skipped') return 'wait';
  if (leaveOnServer === false) return 'dele';
  if (leaveOnServer === true) return 'keep';
  return now - row.receivedAt > leaveOnServer.days * DAY_MS ? 'dele' : 'keep';
}

/** Settle action labels written to the ledger. */
export const SETTLE = {
  dele: 'dele',
  keep: 'keep',
  leave: 'leave:dead',
  gone: 'gone',
} as const;
