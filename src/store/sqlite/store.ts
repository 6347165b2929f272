/**
 * SQLite store (better-sqlite3, WAL). Routine transitions commit with synchronous=NORMAL (safe
 * against process crashes: the WAL is in the OS cache); the transitions a server acknowledgement
 * depends on (a message received, the outcomes read before settling) go through a FULL commit,
 * which fdatasyncs the WAL and with it every earlier commit. One writer process per database file.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { normaliseMessageId, type Envelope, type SourceKind } from '../../core/message.js';
import type {
  FinishUpdate,
  HandlerOutcome,
  InsertResult,
  LedgerRow,
  MessageStatus,
  NewLedgerRow,
  StatusCounts,
  Store,
} from '../types.js';
import { MIGRATIONS } from './migrations.js';

interface RawRow {
  id: number;
  position_key: string;
  source_kind: string;
  source: string;
  content_key: string;
  message_id: string | null;
  sha256: string;
  size: number;
  spool_path: string;
  envelope: string;
  received_at: number;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  reason: string | null;
  route: string | null;
  duplicate_of: number | null;
  settled_at: number | null;
  settle_action: string | null;
  updated_at: number;
}

function toRow(r: RawRow): LedgerRow {
  return {
    id: r.id,
    positionKey: r.position_key,
    sourceKind: r.source_kind as SourceKind,
    source: r.source,
    contentKey: r.content_key,
    messageId: r.message_id,
    sha256: r.sha256,
    size: r.size,
    spoolPath: r.spool_path,
    envelope: JSON.parse(r.envelope) as Envelope,
    receivedAt: r.received_at,
    status: r.status as MessageStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    reason: r.reason,
    route: r.route,
    duplicateOf: r.duplicate_of,
    settledAt: r.settled_at,
    settleAction: r.settle_action,
    updatedAt: r.updated_at,
  };
}

export function openSqliteStore(path: string): SqliteStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return new SqliteStore(db);
}

/**
 * Write transactions are BEGIN IMMEDIATE: with a second connection writing (another process, such
 * as `mailintake retry`), a deferred transaction that read first could not upgrade to a writer and
 * would fail with SQLITE_BUSY at once instead of waiting out busy_timeout.
 */
export class SqliteStore implements Store {
  private readonly s;
  /** Transaction functions, made once: better-sqlite3's `db.transaction(fn)` builds a wrapper
   * (about 6 µs here), which per message adds up. Called with `.immediate(...)`. */
  private readonly tx;
  /** The WAL fsync running now, and the one queued behind it. */
  private syncing: Promise<void> | null = null;
  private nextDurable: Promise<void> | null = null;
  private wal: number | null | undefined;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      byPos: p('SELECT * FROM messages WHERE position_key = ?'),
      byId: p('SELECT * FROM messages WHERE id = ?'),
      // The first copy of a content, whatever its status (a dead original is brought back with
      // `retry`, not by a second copy arriving, e.g. after a UIDVALIDITY reset), unless its bytes were
      // lost: then the next copy is the one to handle.
      firstByContent: p(
        `SELECT id, status FROM messages WHERE content_key = ? AND duplicate_of IS NULL AND spool_lost IS NULL
        ORDER BY id LIMIT 1`,
      ),
      spoolLost: p('UPDATE messages SET spool_lost = 1 WHERE id = ?'),
      insert:
        p(`INSERT INTO messages (position_key, source_kind, source, content_key, message_id, sha256, size,
        spool_path, envelope, received_at, status, reason, duplicate_of, updated_at)
        VALUES (@positionKey, @sourceKind, @source, @contentKey, @messageId, @sha256, @size, @spoolPath,
        @envelope, @receivedAt, @status, @reason, @duplicateOf, @now)`),
      dueReceived: p(`SELECT id FROM messages WHERE status = 'received' ORDER BY id LIMIT ?`).pluck(),
      dueFailed: p(`SELECT id FROM messages WHERE status = 'failed' AND next_attempt_at <= ?
        ORDER BY next_attempt_at LIMIT ?`).pluck(),
      nextDue: p(`SELECT MIN(next_attempt_at) AS t FROM messages WHERE status = 'failed'`),
      requeue: p(`UPDATE messages SET status = 'received', updated_at = ? WHERE status = 'processing'`),
      upsertOutcome: p(`INSERT INTO handler_outcomes (message, handler, status, attempts, detail, at)
        VALUES (@messageId, @handler, @status, @attempts, @detail, @at)
        ON CONFLICT(message, handler) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
        detail = excluded.detail, at = excluded.at`),
      outcomes: p('SELECT * FROM handler_outcomes WHERE message = ? ORDER BY handler'),
      finish: p(`UPDATE messages SET status = @status, reason = @reason, route = @route,
        next_attempt_at = @nextAttemptAt, attempts = @attempts, updated_at = @now WHERE id = @id`),
      unsettled: p(`SELECT * FROM messages WHERE source = ? AND settled_at IS NULL
        AND status IN ('delivered', 'dead', 'skipped') ORDER BY id LIMIT ?`),
      unsettledOf: p(`SELECT COUNT(*) FROM messages WHERE source = ? AND settled_at IS NULL
        AND status IN ('delivered', 'dead', 'skipped')`).pluck(),
      settle: p('UPDATE messages SET settled_at = ?, settle_action = ?, updated_at = ? WHERE id = ?'),
      retryOne:
        p(`UPDATE messages SET status = 'received', attempts = 0, next_attempt_at = NULL, reason = NULL,
        updated_at = ? WHERE id = ? AND status IN ('dead', 'failed')`),
      retryDead:
        p(`UPDATE messages SET status = 'received', attempts = 0, next_attempt_at = NULL, reason = NULL,
        updated_at = ? WHERE status = 'dead'`),
      clearOutcomes: p(`DELETE FROM handler_outcomes WHERE message = ? AND status <> 'ok'`),
      clearDeadOutcomes: p(`DELETE FROM handler_outcomes WHERE status <> 'ok' AND message IN
        (SELECT id FROM messages WHERE status = 'dead')`),
      counts: p('SELECT status, COUNT(*) AS n FROM messages GROUP BY status'),
      unsettledCount: p(`SELECT COUNT(*) AS n FROM messages WHERE settled_at IS NULL
        AND status IN ('delivered', 'dead', 'skipped') AND source_kind IN ('imap', 'pop3')`),
      spoolBytes: p(`SELECT COALESCE(SUM(size), 0) AS n FROM messages`),
      recent: p('SELECT * FROM messages WHERE status = ? ORDER BY updated_at DESC, id DESC LIMIT ?'),
      getState: p('SELECT value FROM source_state WHERE source = ? AND key = ?'),
      setState: p(`INSERT INTO source_state (source, key, value) VALUES (?, ?, ?)
        ON CONFLICT(source, key) DO UPDATE SET value = excluded.value`),
      putThread: p(`INSERT INTO threads (message_id, ticket, created_at) VALUES (?, ?, ?)
        ON CONFLICT(message_id) DO UPDATE SET ticket = excluded.ticket, created_at = excluded.created_at`),
      getThread: p('SELECT ticket FROM threads WHERE message_id = ?'),
    };
    this.tx = {
      insertMany: db.transaction((rows: NewLedgerRow[], now: number) =>
        rows.map((row) => this.insertOne(row, now)),
      ),
      finishMany: db.transaction(
        (
          items: ReadonlyArray<{ id: number; update: FinishUpdate; outcomes: readonly HandlerOutcome[] }>,
          now: number,
        ) => {
          for (const { id, update, outcomes } of items) {
            for (const o of outcomes) this.s.upsertOutcome.run(o);
            this.s.finish.run({ ...update, id, now });
          }
        },
      ),
      settleMany: db.transaction((ids: readonly number[], action: string, now: number) => {
        for (const id of ids) this.s.settle.run(now, action, now, id);
      }),
    };
  }

  insertReceived(row: NewLedgerRow, now: number): InsertResult {
    return this.durably(() => this.insertOne(row, now));
  }

  /** Inserts a batch in one transaction; await `durable()` before acknowledging anything. */
  insertMany(rows: NewLedgerRow[], now: number): InsertResult[] {
    return this.tx.insertMany.immediate(rows, now);
  }

  /**
   * Resolves when every commit made before the call is on stable storage. The WAL file is fdatasynced
   * from libuv's pool (not on the event loop, as a synchronous=FULL commit would be), and callers
   * that arrive before that fsync starts share it (group commit). A checkpoint that moved frames
   * into the database file has synced that file first (SQLite, WAL mode, synchronous=NORMAL).
   */
  durable(): Promise<void> {
    // A commit made while an fsync is running may have missed it: it waits for the next one, which
    // starts when the running one ends and covers every commit queued meanwhile (group commit).
    if (this.nextDurable) return this.nextDurable;
    if (!this.syncing) {
      this.syncing = this.syncWal().finally(() => (this.syncing = null));
      return this.syncing;
    }
    const next = this.syncing
      .catch(() => undefined)
      .then(() => {
        this.nextDurable = null;
        const p = this.syncWal().finally(() => {
          if (this.syncing === p) this.syncing = null;
        });
        this.syncing = p;
        return p;
      });
    this.nextDurable = next;
    return next;
  }

  /** One fdatasync of the WAL file on libuv's pool (or a synchronous=FULL commit without a WAL fd). */
  private syncWal(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fd = this.walFd();
      if (fd === null) {
        try {
          this.sync();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
        return;
      }
      fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  }

  private walFd(): number | null {
    if (this.wal !== undefined) return this.wal;
    try {
      this.wal = this.db.memory ? null : openSync(`${this.db.name}-wal`, 'r');
    } catch {
      this.wal = null;
    }
    return this.wal;
  }

  private insertOne(row: NewLedgerRow, now: number): InsertResult {
    const existing = this.s.byPos.get(row.positionKey) as RawRow | undefined;
    if (existing) return { row: toRow(existing), created: false };
    const { final, ...fields } = row;
    const dup = final ? undefined : (this.s.firstByContent.get(row.contentKey) as { id: number } | undefined);
    const status = final?.status ?? (dup ? 'skipped' : 'received');
    const reason = final?.reason ?? (dup ? `duplicate of #${dup.id}` : null);
    const duplicateOf = dup?.id ?? null;
    const envelope = JSON.stringify(row.envelope);
    const info = this.s.insert.run({
      ...fields,
      envelope,
      status,
      reason,
      duplicateOf,
      now,
    });
    const id = Number(info.lastInsertRowid);
    const settleAction = final?.settleAction ?? null;
    if (settleAction) this.s.settle.run(now, settleAction, now, id);
    // The row as inserted (what reading it back would give, without the query; test/unit/store
    // compares the two).
    const created: LedgerRow = {
      id,
      positionKey: row.positionKey,
      sourceKind: row.sourceKind,
      source: row.source,
      contentKey: row.contentKey,
      messageId: row.messageId,
      sha256: row.sha256,
      size: row.size,
      spoolPath: row.spoolPath,
      envelope: JSON.parse(envelope) as Envelope,
      receivedAt: row.receivedAt,
      status,
      attempts: 0,
      nextAttemptAt: null,
      reason,
      route: null,
      duplicateOf,
      settledAt: settleAction ? now : null,
      settleAction,
      updatedAt: now,
    };
    return { row: created, created: true };
  }

  /** Runs fn in a transaction committed with synchronous=FULL (fsync of the WAL). */
  private durably<T>(fn: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return this.db.transaction(fn).immediate();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Makes every earlier commit durable (one WAL fsync). */
  sync(): void {
    this.durably(() => this.s.setState.run('_store', 'sync', String(Date.now())));
  }

  get(id: number): LedgerRow | undefined {
    const r = this.s.byId.get(id) as RawRow | undefined;
    return r && toRow(r);
  }

  getByPosition(positionKey: string): LedgerRow | undefined {
    const r = this.s.byPos.get(positionKey) as RawRow | undefined;
    return r && toRow(r);
  }

  claimDue(now: number, limit: number, exclude: ReadonlySet<number> = new Set()): LedgerRow[] {
    // Claims live in the caller's memory (one process owns this database), so listing due rows
    // writes nothing; a crash simply leaves them due.
    const want = limit + exclude.size;
    const ids = (this.s.dueFailed.all(now, want) as number[]).filter((id) => !exclude.has(id));
    if (ids.length < limit) {
      const more = (this.s.dueReceived.all(want) as number[]).filter((id) => !exclude.has(id));
      ids.push(...more.slice(0, limit - ids.length));
    }
    return ids.slice(0, limit).map((id) => toRow(this.s.byId.get(id) as RawRow));
  }

  nextDueAt(): number | null {
    return (this.s.nextDue.get() as { t: number | null }).t;
  }

  requeueProcessing(now: number): number {
    return this.s.requeue.run(now).changes;
  }

  recordHandlerOutcome(o: HandlerOutcome): void {
    this.s.upsertOutcome.run(o);
  }

  handlerOutcomes(id: number): HandlerOutcome[] {
    return (this.s.outcomes.all(id) as Array<Omit<HandlerOutcome, 'messageId'> & { message: number }>).map(
      ({ message, ...o }) => ({ ...o, messageId: message }),
    );
  }

  finish(
    id: number,
    u: {
      status: Exclude<MessageStatus, 'received' | 'processing'>;
      reason: string | null;
      route: string | null;
      nextAttemptAt: number | null;
      attempts: number;
    },
    now: number,
    outcomes: readonly HandlerOutcome[] = [],
  ): void {
    this.tx.finishMany.immediate([{ id, update: u, outcomes }], now);
  }

  finishMany(
    items: ReadonlyArray<{ id: number; update: FinishUpdate; outcomes: readonly HandlerOutcome[] }>,
    now: number,
  ): void {
    this.tx.finishMany.immediate(items, now);
  }

  unsettled(source: string, limit: number): LedgerRow[] {
    // Outcomes read here are about to be acknowledged on a server: make them durable first.
    this.sync();
    return (this.s.unsettled.all(source, limit) as RawRow[]).map(toRow);
  }

  unsettledCount(source: string): number {
    return this.s.unsettledOf.get(source) as number;
  }

  markSpoolLost(id: number): void {
    this.s.spoolLost.run(id);
  }

  markSettled(id: number, action: string, now: number): void {
    this.s.settle.run(now, action, now, id);
  }

  markSettledMany(ids: readonly number[], action: string, now: number): void {
    this.tx.settleMany.immediate(ids, action, now);
  }

  retry(id: number | undefined, now: number): number {
    return this.db
      .transaction(() => {
        if (id === undefined) {
          this.s.clearDeadOutcomes.run();
          return this.s.retryDead.run(now).changes;
        }
        this.s.clearOutcomes.run(id);
        return this.s.retryOne.run(now, id).changes;
      })
      .immediate();
  }

  counts(): StatusCounts {
    const byStatus: Partial<Record<MessageStatus, number>> = {};
    for (const r of this.s.counts.all() as Array<{ status: MessageStatus; n: number }>)
      byStatus[r.status] = r.n;
    return {
      byStatus,
      unsettled: (this.s.unsettledCount.get() as { n: number }).n,
      spoolBytes: (this.s.spoolBytes.get() as { n: number }).n,
    };
  }

  recent(status: MessageStatus, limit: number): LedgerRow[] {
    return (this.s.recent.all(status, limit) as RawRow[]).map(toRow);
  }

  getState(source: string, key: string): string | undefined {
    return (this.s.getState.get(source, key) as { value: string } | undefined)?.value;
  }

  setState(source: string, key: string, value: string): void {
    this.s.setState.run(source, key, value);
  }

  rememberThread(messageId: string, ticket: string, now = Date.now()): void {
    const id = normaliseMessageId(messageId);
    if (!id) throw new TypeError(`not a Message-ID: ${JSON.stringify(messageId)}`);
    if (!ticket) throw new TypeError('ticket must not be empty');
    this.s.putThread.run(id, ticket, now);
  }

  lookupThread(messageId: string): string | undefined {
    const id = normaliseMessageId(messageId);
    return id ? (this.s.getThread.get(id) as { ticket: string } | undefined)?.ticket : undefined;
  }

  close(): void {
    if (typeof this.wal === 'number') closeSync(this.wal);
    this.wal = null;
    this.db.close();
  }
}
