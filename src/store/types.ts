/**
 * The store: spool of raw bytes + ledger of lifecycle rows. One small interface; SQLite is the
 * embedded default, a shared database can implement the same later. Implementations must make
 * `insertReceived` durable before resolving.
 */
import type { Envelope, SourceKind } from '../core/message.js';

export type MessageStatus = 'received' | 'processing' | 'delivered' | 'failed' | 'dead' | 'skipped';

/** Statuses after which a source may settle the message on its server. */
export const FINAL_STATUSES: readonly MessageStatus[] = ['delivered', 'dead', 'skipped'];

export interface LedgerRow {
  id: number;
  positionKey: string;
  sourceKind: SourceKind;
  source: string;
  contentKey: string;
  messageId: string | null;
  sha256: string;
  size: number;
  spoolPath: string;
  envelope: Envelope;
  receivedAt: number;
  status: MessageStatus;
  attempts: number;
  nextAttemptAt: number | null;
  reason: string | null;
  route: string | null;
  duplicateOf: number | null;
  settledAt: number | null;
  settleAction: string | null;
  updatedAt: number;
}

/** What a source hands in; the rest of a ledger row is the store's. */
export type NewLedgerRow = Pick<
  LedgerRow,
  | 'positionKey'
  | 'sourceKind'
  | 'source'
  | 'contentKey'
  | 'messageId'
  | 'sha256'
  | 'size'
  | 'spoolPath'
  | 'envelope'
  | 'receivedAt'
> & {
  /** Insert already final (quarantine without processing), optionally already settled. */
  final?: { status: 'dead' | 'skipped'; reason: string; settleAction?: string } | undefined;
};

export interface InsertResult {
  row: LedgerRow;
  /** false when the position key was already in the ledger (the existing row is returned). */
  created: boolean;
}

export type HandlerOutcomeStatus = 'ok' | 'failed' | 'dead';

export interface HandlerOutcome {
  messageId: number;
  handler: string;
  status: HandlerOutcomeStatus;
  attempts: number;
  detail: string | null;
  at: number;
}

export interface StatusCounts {
  byStatus: Partial<Record<MessageStatus, number>>;
  unsettled: number;
  spoolBytes: number;
}

/** A row's transition out of processing. */
export interface FinishUpdate {
  status: Exclude<MessageStatus, 'received' | 'processing'>;
  reason: string | null;
  route: string | null;
  nextAttemptAt: number | null;
  attempts: number;
}

export interface Store {
  /** Inserts a received row (idempotent on position key). A content-key duplicate of an earlier
   * row (any status) gets status `skipped` (reason duplicate) and `duplicateOf` set. */
  insertReceived(row: NewLedgerRow, now: number): InsertResult;
  /** The same for a batch in one transaction, NOT yet durable: await `durable()` before acknowledging. */
  insertMany(rows: NewLedgerRow[], now: number): InsertResult[];
  /** Resolves when every earlier commit is on stable storage (group commit, off the event loop). */
  durable(): Promise<void>;
  /** Makes every earlier change durable (the barrier before anything is acknowledged). */
  sync(): void;
  get(id: number): LedgerRow | undefined;
  getByPosition(positionKey: string): LedgerRow | undefined;
  /** Up to `limit` due rows (received, or failed with nextAttemptAt <= now) not in `exclude` (the
   * caller's in-flight ids). The embedded store keeps claims in the process's memory; a shared
   * database implementation claims with a lease (status `processing`) instead. */
  claimDue(now: number, limit: number, exclude?: ReadonlySet<number>): LedgerRow[];
  /** Earliest nextAttemptAt among failed rows, for the retry timer. */
  nextDueAt(): number | null;
  /** Crash recovery: rows left `processing` by a dead process go back to `received`. */
  requeueProcessing(now: number): number;
  recordHandlerOutcome(o: HandlerOutcome): void;
  handlerOutcomes(id: number): HandlerOutcome[];
  /** Final or retry transition, atomically with the attempt count and this attempt's handler outcomes. */
  finish(id: number, update: FinishUpdate, now: number, outcomes?: readonly HandlerOutcome[]): void;
  /** finish for many rows in one transaction. */
  finishMany(
    items: ReadonlyArray<{ id: number; update: FinishUpdate; outcomes: readonly HandlerOutcome[] }>,
    now: number,
  ): void;
  /** Rows of a source whose outcome is final but not yet settled on the server (after a sync()). */
  unsettled(source: string, limit: number): LedgerRow[];
  /** How many such rows there are (no barrier, no rows loaded). */
  unsettledCount(source: string): number;
  markSettled(id: number, action: string, now: number): void;
  /** This row's spool file is missing or cut short: a later copy of its content is not its duplicate. */
  markSpoolLost(id: number): void;
  /** markSettled for many rows in one transaction. */
  markSettledMany(ids: readonly number[], action: string, now: number): void;
  /** Puts dead rows (one id, or all when id is undefined) back to `received` for another go. */
  retry(id: number | undefined, now: number): number;
  counts(): StatusCounts;
  recent(status: MessageStatus, limit: number): LedgerRow[];
  /** Small per-source key/value state: UID cursors, UIDVALIDITY, POP3 bookkeeping. */
  getState(source: string, key: string): string | undefined;
  setState(source: string, key: string, value: string): void;
  /** Records that the application sent `messageId` about `ticket` (for the ticket route's thread
   * rule); the id is normalised like parsed Message-IDs; re-recording an id replaces its ticket. */
  rememberThread(messageId: string, ticket: string, now?: number): void;
  /** The ticket a sent Message-ID belongs to, if it was remembered. */
  lookupThread(messageId: string): string | undefined;
  close(): void;
}
