/**
 * The pipeline: claim due ledger rows, parse, classify, route, run handlers, record outcomes.
 * Each handler invocation's outcome is recorded on its own, so a retry re-runs only the handlers
 * that have not succeeded. Final states: delivered, dead (reason), skipped (reason).
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Handler } from '../handlers/types.js';
import type { HandlerOutcome, LedgerRow, Store } from '../store/types.js';
import type { Classification } from './classify/types.js';
import { backoffDelay } from './backoff.js';
import { deadline } from './deadline.js';
import { classifyFailure, type FailureVerdict } from './errors.js';
import { emptyParsed, type MessageContext, type ParsedMessage } from './parsed.js';
import { route, type RouteMatch, type RouteSpec } from './router.js';

/** Longest sleep between looks for due rows when nothing wakes the pipeline. */
const IDLE_RECHECK_MS = 5000;

export interface PipelineDeps {
  store: Store;
  readRaw: (row: LedgerRow) => Promise<Buffer>;
  /** Parses and classifies one message (in a worker thread when the parse pool has workers). */
  analyse: (
    raw: Buffer,
    row: LedgerRow,
  ) => Promise<{ parsed: ParsedMessage; classification: Classification }>;
  /** Parses only the header block (and classifies): enough to route, and for handlers that take
   * only raw bytes. When absent, every message is analysed in full. */
  analyseHead?: (
    raw: Buffer,
    row: LedgerRow,
  ) => Promise<{ parsed: ParsedMessage; classification: Classification }>;
  /** Classifies without parsing: used when neither the routes nor the handlers a message goes to
   * read a header field (see `Handler.needsHeaders`). When absent, a header parse always runs. */
  classifyOnly?: (raw: Buffer) => Classification;
  /** Rows the pipeline must not take yet (intake has not made them durable). */
  notReady?: () => ReadonlySet<number>;
  stripReply?: ((p: ParsedMessage) => MessageContext['strippedReply']) | undefined;
  routes: readonly RouteSpec[];
  handlers: ReadonlyMap<string, Handler>;
  log: Logger;
  concurrency: number;
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  handlerTimeoutMs: number;
  /**
   * How long a row offered by intake waits before its handling starts, so that rows arriving
   * together are handled together: their outcomes share one ledger transaction and their
   * handlers' directory fsyncs one flush, and a listener's next commands are not interleaved with
   * one message's handling at a time. 0 (the default here) starts each at once.
   */
  batchMs?: number;
  now?: () => number;
}

export interface OutcomeEvent {
  row: LedgerRow;
  status: 'delivered' | 'dead' | 'skipped' | 'failed';
  reason: string | null;
}

export interface HandlerEvent {
  handler: string;
  route: string;
  durationMs: number;
  ok: boolean;
  retryable: boolean | null;
}

export class Pipeline {
  private readonly now: () => number;
  private inFlight = new Map<number, Promise<void>>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  /** See `pump`. */
  private dirty = true;
  private repump = false;
  private readonly listeners = new Set<(e: OutcomeEvent) => void>();
  private readonly handlerListeners = new Set<(e: HandlerEvent) => void>();
  private readonly outcomes = new Map<number, HandlerOutcome[]>();
  private finishing: Array<{
    row: LedgerRow;
    status: 'delivered' | 'dead' | 'skipped' | 'failed';
    reason: string | null;
    routeName: string | null;
    attempts: number;
    nextAttemptAt: number | null;
    outcomes: HandlerOutcome[];
    resolve: () => void;
    reject: (err: Error) => void;
  }> = [];
  private readonly abort = new AbortController();
  /** Rows offered and waiting for their batch to start (see `batchMs`); each is in `inFlight`. */
  private held: Array<(run: boolean) => void> = [];
  private heldTimer: NodeJS.Timeout | null = null;

  /** True when some configured handler takes only raw bytes (so a header-only parse may do). */
  private readonly someRawOnly: boolean;
  /** True when some configured handler reads no header field (so no parse at all may do). */
  private readonly someHeaderless: boolean;
  /** Some route matches on a header field (from, subject, headers, ticket). */
  private readonly routesReadHeaders: boolean;
  /** Some route matches on recipients (from the envelope, else from To/Cc/Delivered-To). */
  private readonly routesUseRecipients: boolean;
  /** False when no message can need parsing: every handler and route reads no header field (a
   * catch-all or `when:` route into Maildir, for instance). Then the parser need not be loaded. */
  readonly mayParse: boolean;

  constructor(private readonly d: PipelineDeps) {
    this.now = d.now ?? Date.now;
    this.someRawOnly = [...d.handlers.values()].some((h) => h.needsBody === false);
    this.someHeaderless = [...d.handlers.values()].some((h) => h.needsHeaders === false);
    this.routesReadHeaders = d.routes.some(
      (r) =>
        r.from !== undefined || r.subject !== undefined || r.headers !== undefined || r.ticket !== undefined,
    );
    this.routesUseRecipients = d.routes.some((r) => r.to !== undefined);
    this.mayParse = !(
      d.classifyOnly &&
      d.analyseHead &&
      !this.routesReadHeaders &&
      !this.routesUseRecipients &&
      [...d.handlers.values()].every((h) => h.needsHeaders === false)
    );
    // Every in-flight handler call listens for the hard-stop signal.
    setMaxListeners(0, this.abort.signal);
  }

  onOutcome(fn: (e: OutcomeEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Observes each handler invocation (for metrics). */
  onHandler(fn: (e: HandlerEvent) => void): () => void {
    this.handlerListeners.add(fn);
    return () => this.handlerListeners.delete(fn);
  }

  /** Starts processing; rows left `processing` by a crashed process are resumed first. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const n = this.d.store.requeueProcessing(this.now());
    if (n) this.d.log.info({ action: 'resume', count: n }, 'resuming unfinished messages');
    this.wake();
  }

  /** Stops claiming new work and waits for in-flight messages (their outcome gets recorded). */
  async stop(): Promise<void> {
    this.running = false;
    this.releaseHeld(true);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Hard stop: abort in-flight handlers (they will be retried after restart). */
  async abortInFlight(): Promise<void> {
    this.releaseHeld(false); // not started: they stay due for the next run
    this.abort.abort();
    await this.stop();
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /** Resolves when nothing is due now and nothing is in flight. With `retries`, also waits for
   * failed rows to reach a final status (sleeping until their retry time). */
  async idle(opts: { retries?: boolean } = {}): Promise<void> {
    for (;;) {
      if (!this.running) return await Promise.allSettled([...this.inFlight.values()]).then(() => undefined);
      this.wake();
      await Promise.allSettled([...this.inFlight.values()]);
      await new Promise<void>((r) => setImmediate(r));
      if (this.inFlight.size || this.pumping || this.hasDueNow()) continue;
      const next = opts.retries ? this.d.store.nextDueAt() : null;
      if (next === null) return;
      await new Promise<void>((r) => setTimeout(r, Math.max(1, next - this.now())));
    }
  }

  private hasDueNow(): boolean {
    const next = this.d.store.nextDueAt();
    const counts = this.d.store.counts().byStatus;
    return (counts.received ?? 0) > 0 || (next !== null && next <= this.now());
  }

  /** Something may have become due (an arrival, a retry time, a requeue): the next pump queries. */
  wake(): void {
    this.dirty = true;
    this.pump();
  }

  /**
   * Claims due rows while there are free slots. Without a wake since the last claim that found
   * fewer rows than it asked for, nothing new can be due (retries come by the timer), so a finished
   * message does not cost a query.
   */
  private pump(): void {
    if (!this.running || !this.dirty) return;
    if (this.pumping) {
      this.repump = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.repump = false;
        const free = this.d.concurrency - this.inFlight.size;
        // Claim in batches: one query per quarter of the slots, not one per finished message.
        if (free <= 0 || (this.inFlight.size > 0 && free < Math.max(1, this.d.concurrency >> 2))) break;
        const exclude = new Set(this.inFlight.keys());
        for (const id of this.d.notReady?.() ?? []) exclude.add(id);
        const rows = this.d.store.claimDue(this.now(), free, exclude);
        if (rows.length < free) this.dirty = false;
        for (const row of rows) this.begin(row);
        if (rows.length === free) this.repump = true;
      } while (this.repump && this.running);
    } finally {
      this.pumping = false;
    }
    this.armTimer();
  }

  /**
   * A row intake just made durable, offered directly: taken at once when a slot is free and no
   * query is due (`dirty`: older rows may be waiting, and they go first), which spares a claim
   * query and a turn of the event loop per message. Returns false when left to the next pump.
   */
  offer(row: LedgerRow): boolean {
    if (!this.running || this.dirty || this.pumping || row.status !== 'received') return false;
    if (this.inFlight.has(row.id) || this.inFlight.size >= this.d.concurrency) return false;
    const batchMs = this.d.batchMs ?? 0;
    if (batchMs <= 0) {
      this.begin(row, true);
      return true;
    }
    // Held in a slot (and so never claimed twice) until the batch starts: after `batchMs`, or at
    // once when the batch fills half the slots.
    this.begin(row, true, new Promise<boolean>((start) => this.held.push(start)));
    if (this.held.length >= Math.max(1, this.d.concurrency >> 1)) this.releaseHeld(true);
    else this.heldTimer ??= setTimeout(() => this.releaseHeld(true), batchMs);
    return true;
  }

  /** Starts the held rows (`run`), or lets them go unprocessed (they stay due in the ledger). */
  private releaseHeld(run: boolean): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = null;
    for (const start of this.held.splice(0)) start(run);
  }

  /**
   * `fresh`: the row was inserted just now (offered by intake), so no handler outcome exists yet.
   * `gate`: processing waits for it, and is skipped when it gives false.
   */
  private begin(row: LedgerRow, fresh = false, gate?: Promise<boolean>): void {
    const run = () => this.process(row, fresh);
    const p = (gate ? gate.then((go) => (go ? run() : undefined)) : run())
      .catch(async (err: unknown) => {
        // A bug, not the message: back off like a temporary failure so it cannot spin.
        this.d.log.error({ err, id: row.id }, 'pipeline bug: process threw');
        try {
          await this.fail(
            row,
            { retryable: true, code: 'INTERNAL', reason: `internal error: ${String(err)}` },
            null,
            row.attempts + 1,
          );
        } catch (e) {
          this.d.log.error({ err: e, id: row.id }, 'could not record the internal error');
        }
      })
      .finally(() => {
        this.inFlight.delete(row.id);
        this.pump();
      });
    this.inFlight.set(row.id, p);
  }

  private armTimer(): void {
    if (!this.running) return;
    const next = this.d.store.nextDueAt();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // With nothing scheduled, still look now and then: `mailintake retry` from another process
    // puts rows back without waking this one.
    const delay =
      next === null ? IDLE_RECHECK_MS : Math.max(50, Math.min(next - this.now(), IDLE_RECHECK_MS));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private emit(e: OutcomeEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.d.log.error({ err }, 'outcome listener threw');
      }
    }
  }

  /**
   * Records a message's transition with its handler outcomes. Transitions finishing in the same
   * turn of the event loop are committed together, in one transaction; the message's slot is freed
   * (and its outcome announced) only after that commit.
   */
  private finish(
    row: LedgerRow,
    status: 'delivered' | 'dead' | 'skipped' | 'failed',
    reason: string | null,
    routeName: string | null,
    attempts: number,
    nextAttemptAt: number | null,
  ): Promise<void> {
    const outcomes = this.outcomes.get(row.id) ?? [];
    this.outcomes.delete(row.id);
    return new Promise<void>((resolve, reject) => {
      this.finishing.push({
        row,
        status,
        reason,
        routeName,
        attempts,
        nextAttemptAt,
        outcomes,
        resolve,
        reject,
      });
      if (this.finishing.length === 1) setImmediate(() => this.commitFinished());
    });
  }

  private commitFinished(): void {
    const batch = this.finishing.splice(0);
    if (!batch.length) return;
    try {
      this.d.store.finishMany(
        batch.map((f) => ({
          id: f.row.id,
          update: {
            status: f.status,
            reason: f.reason,
            route: f.routeName,
            nextAttemptAt: f.nextAttemptAt,
            attempts: f.attempts,
          },
          outcomes: f.outcomes,
        })),
        this.now(),
      );
    } catch (err) {
      for (const f of batch) f.reject(err as Error);
      return;
    }
    let failed = false;
    for (const { row, status, reason, routeName, attempts, resolve } of batch) {
      this.d.log.info(
        { action: status, id: row.id, source: row.source, route: routeName, attempts, reason },
        `message ${status}`,
      );
      this.emit({ row: { ...row, status, reason, attempts }, status, reason });
      failed ||= status === 'failed';
      resolve();
    }
    if (failed) this.armTimer(); // a retry time may be the next one due
  }

  private async process(row: LedgerRow, fresh: boolean): Promise<void> {
    const attempt = row.attempts + 1;
    let raw: Buffer;
    try {
      raw = await this.d.readRaw(row);
    } catch (err) {
      // A missing or cut-short file will not come back; EMFILE, EIO and the like may: retry those.
      const v = classifyFailure(err);
      const gone =
        (err as NodeJS.ErrnoException).code === 'ENOENT' || /does not match the recorded/.test(v.reason);
      if (!gone) return this.fail(row, { ...v, reason: `spool file unreadable: ${v.reason}` }, null, attempt);
      this.d.store.markSpoolLost(row.id);
      return this.finish(
        row,
        'dead',
        `spool file unreadable: ${(err as Error).message}`,
        null,
        attempt,
        null,
      );
    }
    let parsed: ParsedMessage;
    let classification: Classification;
    // As little parsing as the routes allow when some handler may not need it: nothing (classify
    // only) when no route reads a header field, else the header block; what the handlers to run
    // need more is parsed below.
    const headFirst = this.d.analyseHead && this.someRawOnly ? this.d.analyseHead : null;
    const classifyOnly =
      headFirst && this.someHeaderless && !this.routesNeedHeaders(row) ? this.d.classifyOnly : undefined;
    const stage: 'none' | 'head' | 'full' = classifyOnly ? 'none' : headFirst ? 'head' : 'full';
    try {
      if (classifyOnly) {
        classification = classifyOnly(raw);
        parsed = emptyParsed();
      } else ({ parsed, classification } = await (headFirst ?? this.d.analyse)(raw, row));
    } catch (err) {
      return this.fail(row, classifyFailure(err), null, attempt);
    }
    const matches = route(this.d.routes, {
      envelope: row.envelope,
      parsed,
      classification,
      lookupThread: (id) => this.d.store.lookupThread(id),
    });
    const routeName = matches.map((m) => m.route.name).join(',') || null;
    if (!matches.length)
      return this.finish(row, 'dead', 'no route matched (the config needs a catch-all)', null, attempt, null);
    const deliver = matches.filter((m) => m.route.action === 'deliver');
    if (!deliver.length)
      return this.finish(row, 'skipped', `dropped by route ${routeName}`, routeName, attempt, null);
    // Outcomes of earlier attempts (a retried row keeps its handlers' `ok`); none for a fresh row.
    const done = new Map(fresh ? [] : this.d.store.handlerOutcomes(row.id).map((o) => [o.handler, o]));
    const toRun = deliver.flatMap((m) =>
      m.route.handlers
        .filter((h) => done.get(invocationKey(m, h))?.status !== 'ok')
        .map((h) => this.d.handlers.get(h)),
    );
    const more =
      stage !== 'full' && toRun.some((h) => h?.needsBody !== false)
        ? this.d.analyse
        : stage === 'none' && toRun.some((h) => h?.needsHeaders !== false)
          ? headFirst
          : null;
    if (more) {
      try {
        ({ parsed } = await more(raw, row));
      } catch (err) {
        return this.fail(row, classifyFailure(err), routeName, attempt);
      }
    }
    const msg: MessageContext = {
      id: row.id,
      raw,
      envelope: row.envelope,
      source: { kind: row.sourceKind, source: row.source, positionKey: row.positionKey },
      receivedAt: new Date(row.receivedAt),
      contentKey: row.contentKey,
      sha256: row.sha256,
      spoolPath: row.spoolPath,
      parsed,
      classification,
      strippedReply: null,
    };
    // Computed when a handler first reads it (a Maildir delivery never does).
    const strip = this.d.stripReply;
    if (strip) {
      let cached: MessageContext['strippedReply'] | undefined;
      Object.defineProperty(msg, 'strippedReply', {
        enumerable: true,
        get: () => {
          if (cached === undefined) {
            try {
              cached = strip(parsed);
            } catch (err) {
              this.d.log.warn({ err, id: row.id }, 'reply stripping failed; continuing without it');
              cached = null;
            }
          }
          return cached;
        },
      });
    }
    let temporary: FailureVerdict | null = null;
    let permanent: FailureVerdict | null = null;
    for (const m of deliver) {
      for (const hname of m.route.handlers) {
        const inv = invocationKey(m, hname);
        if (done.get(inv)?.status === 'ok') continue;
        const v = await this.invoke(msg, m, hname, inv, attempt);
        if (v && v.retryable) temporary ??= v;
        else if (v) permanent ??= v;
      }
    }
    if (permanent) return this.finish(row, 'dead', permanent.reason, routeName, attempt, null);
    if (temporary) return this.fail(row, temporary, routeName, attempt);
    return this.finish(row, 'delivered', null, routeName, attempt, null);
  }

  /** Whether routing this row reads header fields (recipients come from the headers when the
   * row has no envelope recipients, as with pulled mail). */
  private routesNeedHeaders(row: LedgerRow): boolean {
    return this.routesReadHeaders || (this.routesUseRecipients && row.envelope.rcptTo.length === 0);
  }

  private fail(row: LedgerRow, v: FailureVerdict, routeName: string | null, attempt: number): Promise<void> {
    if (!v.retryable) return this.finish(row, 'dead', v.reason, routeName, attempt, null);
    if (attempt >= this.d.maxAttempts) {
      return this.finish(
        row,
        'dead',
        `gave up after ${attempt} attempts: ${v.reason}`,
        routeName,
        attempt,
        null,
      );
    }
    const next = this.now() + backoffDelay(attempt, { ...this.d.backoff, factor: 2, jitter: 0.5 });
    return this.finish(row, 'failed', v.reason, routeName, attempt, next);
  }

  /** Runs one handler with a timeout; records its outcome. Returns the failure, or null on success. */
  private async invoke(
    msg: MessageContext,
    m: RouteMatch,
    hname: string,
    inv: string,
    attempt: number,
  ): Promise<FailureVerdict | null> {
    const handler = this.d.handlers.get(hname);
    // Made when first used (a Maildir delivery never logs): a child logger costs ~10 µs a call.
    let log: Logger | undefined;
    const logOf = (): Logger =>
      (log ??= this.d.log.child({ id: msg.id, handler: hname, route: m.route.name }));
    let verdict: FailureVerdict | null = null;
    const started = performance.now();
    if (!handler) {
      verdict = { retryable: false, code: 'NO_HANDLER', reason: `handler ${hname} is not configured` };
    } else {
      const limit = deadline(this.abort.signal, this.d.handlerTimeoutMs);
      const signal = limit.signal;
      try {
        await raceAbort(
          handler.handle(msg, {
            idempotencyKey: `${msg.sha256.slice(0, 32)}:${inv}`,
            attempt,
            match: m,
            signal,
            get log() {
              return logOf();
            },
          }),
          signal,
        );
      } catch (err) {
        verdict =
          signal.aborted && !(err instanceof Error && 'retryable' in err)
            ? {
                retryable: true,
                code: 'TIMEOUT',
                // The hard stop aborts handlers through the same signal as their own timeout.
                reason: this.abort.signal.aborted
                  ? `handler ${hname} was stopped by the shutdown deadline (it runs again)`
                  : `handler ${hname} did not finish within ${this.d.handlerTimeoutMs} ms`,
              }
            : classifyFailure(err);
      } finally {
        limit.dispose();
      }
    }
    // Recorded with the message's final transition, in one transaction.
    const list = this.outcomes.get(msg.id) ?? [];
    this.outcomes.set(msg.id, list);
    list.push({
      messageId: msg.id,
      handler: inv,
      status: verdict ? (verdict.retryable ? 'failed' : 'dead') : 'ok',
      attempts: attempt,
      detail: verdict?.reason ?? null,
      at: this.now(),
    });
    for (const fn of this.handlerListeners) {
      fn({
        handler: hname,
        route: m.route.name,
        durationMs: performance.now() - started,
        ok: !verdict,
        retryable: verdict ? verdict.retryable : null,
      });
    }
    if (verdict)
      logOf().warn(
        {
          action: 'handler-failed',
          code: verdict.code,
          retryable: verdict.retryable,
          reason: verdict.reason,
        },
        'handler failed',
      );
    return verdict;
  }
}

/** One handler invocation per (route, handler, recipient-with-captures). */
export function invocationKey(m: RouteMatch, handler: string): string {
  return m.recipient && Object.keys(m.captures).length
    ? `${m.route.name}/${handler}/${m.recipient}`
    : `${m.route.name}/${handler}`;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
