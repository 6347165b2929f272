/**
 * Intake: the one door every source uses. It makes a message durable (spool file fsynced, ledger
 * row committed) and only then resolves, so a source may acknowledge (SMTP 250) or move on.
 * Sources never parse or decide; they settle later from the ledger.
 */
import type { Readable } from 'node:stream';
import type { ChunkInspector, Spool, SpooledFile, StreamOptions } from '../store/spool.js';
import type { InsertResult, LedgerRow, NewLedgerRow, Store } from '../store/types.js';
import { contentKeyOf, type Envelope, type SourceRef } from './message.js';

export interface IntakeRequest {
  envelope: Envelope;
  source: SourceRef;
  receivedAt?: Date;
}

export interface IntakeResult extends InsertResult {
  /** true when the position was already known and nothing was written. */
  known: boolean;
}

export class Intake {
  private readonly listeners = new Set<() => void>();
  private readonly takers = new Set<(row: LedgerRow) => boolean>();
  /**
   * Rows committed whose message is not yet durable (spool file, directory entry, WAL): the pipeline
   * leaves them alone. Nothing is handled that a power loss could still take back, which would let
   * the sender resend it and have it handled a second time.
   */
  readonly pending = new Set<number>();
  /** Rows made durable in this turn, for `readySoon`. */
  private ready: LedgerRow[] = [];
  /** Rows received in this process and not yet through the pipeline (a pacing hint, not a ledger). */
  private outstanding = 0;
  private readonly roomWaiters: Array<() => void> = [];
  private readonly queue: Array<{
    row: NewLedgerRow;
    resolve: (r: Committed) => void;
    reject: (e: Error) => void;
  }> = [];

  constructor(
    readonly store: Store,
    readonly spool: Spool,
  ) {}

  /**
   * Called once newly received rows are durable and some were not taken (`onReady`), at most once
   * per turn of the event loop, to wake the pipeline.
   */
  onReceived(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Called with each newly received row once it is durable; a taker returns true when it took the
   * row (then no wake-up follows for it). The pipeline takes rows this way when it has a free slot
   * and nothing older waits.
   */
  onReady(fn: (row: LedgerRow) => boolean): () => void {
    this.takers.add(fn);
    return () => this.takers.delete(fn);
  }

  private offered(row: LedgerRow): boolean {
    for (const fn of this.takers) if (fn(row)) return true;
    return false;
  }

  /** Called for each pipeline outcome: one message fewer waiting (see `room`). */
  processed(): void {
    if (this.outstanding > 0) this.outstanding--;
    const w = this.roomWaiters.splice(0);
    for (const fn of w) fn();
  }

  /**
   * Resolves once fewer than `limit` received messages wait for the pipeline. Pull sources call it
   * before each download, so fetching never runs far ahead of handling: memory stays bounded and
   * the pipeline reads each message from the recent-write cache instead of back from disk.
   * Best effort: it gives up waiting after `maxWaitMs` (a stalled pipeline never stops intake).
   */
  async room(limit: number, maxWaitMs = 5000): Promise<void> {
    const until = Date.now() + maxWaitMs;
    while (this.outstanding >= limit && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, until - Date.now()));
        this.roomWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** True when this position is already in the ledger (skip the download). */
  known(positionKey: string): boolean {
    return this.store.getByPosition(positionKey) !== undefined;
  }

  async receive(raw: Buffer, req: IntakeRequest): Promise<IntakeResult> {
    const existing = this.store.getByPosition(req.source.positionKey);
    if (existing) return { row: existing, created: false, known: true };
    const file = await this.spool.write(raw);
    return this.commitDurably(file, req);
  }

  /**
   * Records a message as already final (dead or skipped) without processing it: the bytes (often a
   * placeholder) are spooled and the row is inserted with its final status in one transaction.
   */
  async quarantine(
    raw: Buffer,
    req: IntakeRequest,
    final: { status: 'dead' | 'skipped'; reason: string; settleAction?: string },
  ): Promise<IntakeResult> {
    const existing = this.store.getByPosition(req.source.positionKey);
    if (existing) return { row: existing, created: false, known: true };
    const file = await this.spool.write(raw);
    return this.commitDurably(file, req, final);
  }

  /**
   * `newPosition`: the source vouches that this position was never recorded (an SMTP transaction
   * id), so the lookup before spooling is skipped; the insert still checks it in its transaction.
   */
  async receiveStream(
    stream: Readable,
    req: IntakeRequest & {
      maxBytes: number;
      prefix?: Buffer;
      inspect?: ChunkInspector;
      newPosition?: boolean;
    },
  ): Promise<IntakeResult> {
    const existing = req.newPosition ? undefined : this.store.getByPosition(req.source.positionKey);
    if (existing) {
      stream.resume();
      return { row: existing, created: false, known: true };
    }
    const opts: StreamOptions = { maxBytes: req.maxBytes };
    if (req.prefix) opts.prefix = req.prefix;
    if (req.inspect) opts.inspect = req.inspect;
    const file = await this.spool.writeStream(stream, opts);
    return this.commitDurably(file, req);
  }

  /**
   * The ledger commit and the spool fsync run in parallel; the caller is told "received" only when
   * both are done. A crash in between acknowledges nothing; a row whose file did not reach the disk
   * (power loss) fails the pipeline's hash check and is quarantined with that reason.
   */
  private async commitDurably(
    file: SpooledFile,
    req: IntakeRequest,
    final?: NewLedgerRow['final'],
  ): Promise<IntakeResult> {
    const committed = this.commit(file, req, final);
    try {
      const [{ result, durable }] = await Promise.all([committed, file.durable]);
      await durable;
      return result;
    } finally {
      // Once both syncs have settled, durable or failed: the pipeline may take the row (a row whose
      // durability failed was answered 4xx, and it is committed all the same; handling it is what
      // a resend gets deduplicated against, rather than leaving it out until a restart).
      const c = await committed.catch(() => null);
      if (c?.result.created && c.result.row.status === 'received') {
        await Promise.allSettled([c.durable, file.durable]);
        this.pending.delete(c.result.row.id);
        this.readySoon(c.result.row);
      }
    }
  }

  /**
   * Rows that became ready in this turn of the event loop go to the takers (the pipeline) on the
   * next one, after the callers' continuations (an SMTP 250 is written before any handling starts);
   * the listeners are woken once if some row was not taken.
   */
  private readySoon(row: LedgerRow): void {
    this.ready.push(row);
    if (this.ready.length > 1) return;
    setImmediate(() => {
      let wake = false;
      for (const r of this.ready.splice(0)) if (!this.offered(r)) wake = true;
      if (wake) for (const fn of this.listeners) fn();
    });
  }

  /** Queues the ledger insert; all inserts queued in one turn of the event loop are committed
   * together, each caller resolving with its row and the one fsync that makes them durable (group
   * commit). */
  private commit(file: SpooledFile, req: IntakeRequest, final?: NewLedgerRow['final']): Promise<Committed> {
    const key = contentKeyOf(file.head, file.sha256);
    const row: NewLedgerRow = {
      positionKey: req.source.positionKey,
      sourceKind: req.source.kind,
      source: req.source.source,
      contentKey: key.key,
      messageId: key.messageId,
      sha256: file.sha256,
      size: file.size,
      spoolPath: file.path,
      envelope: req.envelope,
      receivedAt: (req.receivedAt ?? new Date()).getTime(),
      final,
    };
    return new Promise<Committed>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0);
    if (!batch.length) return;
    let results: InsertResult[];
    try {
      results = this.store.insertMany(
        batch.map((b) => b.row),
        Date.now(),
      );
    } catch (err) {
      for (const b of batch) b.reject(err as Error);
      return;
    }
    // The callers hear "received" only once the rows are on stable storage; the pipeline takes a
    // row only after that too (see `pending`).
    const fresh = results.filter((r) => r.created && r.row.status === 'received');
    this.outstanding += fresh.length;
    for (const r of fresh) this.pending.add(r.row.id);
    const durable = this.store.durable();
    durable.catch(() => undefined); // each caller awaits it
    batch.forEach((b, i) => b.resolve({ result: { ...results[i]!, known: false }, durable }));
  }
}

/** A committed ledger insert and the WAL fsync that makes it durable. */
interface Committed {
  result: IntakeResult;
  durable: Promise<void>;
}
