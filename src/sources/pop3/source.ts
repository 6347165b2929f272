/**
 * The POP3 source. One run = one session holding the maildrop: UIDL+LIST, download what the ledger
 * does not know (pipelined RETRs streamed into intake, which resolves only once durable), wait
 * (bounded) for outcomes, then DELE what is final and delivered/skipped, and QUIT; rows are marked
 * settled only after QUIT's +OK. Nothing is acknowledged on the server before its outcome is
 * recorded, dead mail is never deleted, and a crash at any point leads to settling again, never to
 * handling again (the position key `pop3:<source>:<UIDL>` is in the ledger). Runs never overlap;
 * a retryable failure (`-ERR [IN-USE]`, timeouts, connection loss) backs off, visible in health().
 */
import type { Pop3Config } from '../../config/schema.js';
import type { CheckReport, Source, SourceContext, SourceHealth, SyncResult } from '../types.js';
import { backoffDelay, DEFAULT_BACKOFF, isRetryable, type BackoffPolicy } from './backoff.js';
import { checkPop3 } from './check.js';
import type { Pop3Client } from './client.js';
import { fetchInto, quarantineOversize, type FetchDeps } from './fetch.js';
import { openSession } from './login.js';
import { Credentials } from './options.js';
import { joinListing, planFetch, positionKey, type Listed } from './plan.js';
import { settleAndQuit, type SettleDeps } from './settle.js';

/** Internal knobs (tests and benches change them); not part of the config file. */
export interface Pop3SourceTuning {
  backoff: BackoffPolicy;
  /** runOnce waits this long for the outcomes of what it fetched before settling. */
  outcomeWaitMs: number;
  /** RETRs in flight. */
  window: number;
  /** No new RETR while this many fetched messages wait for the pipeline. */
  backlogLimit: number;
  /** Messages above this LIST size stream into the spool instead of being buffered. */
  streamThreshold: number;
  /** Use PIPELINING when the server offers it. */
  pipelining: boolean;
  /** Clock (tests inject it for leaveOnServer { days }). */
  now: () => number;
}

export const DEFAULT_POP3_TUNING: Pop3SourceTuning = {
  backoff: DEFAULT_BACKOFF,
  outcomeWaitMs: 60_000,
  window: 64,
  backlogLimit: 128,
  streamThreshold: 1024 * 1024,
  pipelining: true,
  now: Date.now,
};

const IDLE_RESULT: SyncResult = { fetched: 0, settled: 0, errors: 0 };

export function createPop3Source(ctx: SourceContext, tuning: Partial<Pop3SourceTuning> = {}): Source {
  return new Pop3Source(ctx, { ...DEFAULT_POP3_TUNING, ...tuning });
}

class Pop3Source implements Source {
  readonly kind = 'pop3' as const;
  readonly name: string;
  private readonly cfg: Pop3Config;
  private readonly creds: Credentials;
  private running: Promise<SyncResult> | null = null;
  private client: Pop3Client | null = null;
  private stopping = false;
  private wakeStop: () => void = () => undefined;
  private readonly stopped = new Promise<void>((r) => (this.wakeStop = r));
  private failures = 0;
  private backoffUntil: number | null = null;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private backlog: number | null = null;

  constructor(
    private readonly ctx: SourceContext,
    private readonly t: Pop3SourceTuning,
  ) {
    this.name = ctx.name;
    if (!ctx.config.pop3) throw new Error(`source ${ctx.name} has no pop3 block`);
    this.cfg = ctx.config.pop3;
    this.creds = new Credentials(this.cfg);
  }

  /** POP3 has nothing long-lived: the service schedules runOnce. */
  async start(): Promise<void> {}

  /** Concurrent callers share the run in progress. */
  runOnce(): Promise<SyncResult> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.wakeStop();
    const run = this.running;
    if (!run) return;
    const timedOut = await Promise.race([
      run.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), deadlineMs).unref()),
    ]);
    // Out of time: drop the session without QUIT; the server rolls back any DELE.
    if (timedOut) this.client?.destroy();
  }

  health(): SourceHealth {
    const backoff = this.backoffUntil !== null && this.backoffUntil > Date.now() ? this.backoffUntil : null;
    return {
      name: this.name,
      kind: 'pop3',
      connected: this.client !== null && !this.client.closed,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      backoffUntil: backoff,
      backlog: this.backlog,
    };
  }

  check(): Promise<CheckReport> {
    return checkPop3(this.cfg, this.ctx.baseDir, this.ctx.log.child({ proto: 'pop3', mod: 'check' }));
  }

  private async run(): Promise<SyncResult> {
    if (this.stopping) return IDLE_RESULT;
    if (this.backoffUntil !== null && Date.now() < this.backoffUntil) {
      this.ctx.log.debug({ action: 'pop3-backoff', until: this.backoffUntil }, 'run skipped: backing off');
      return IDLE_RESULT;
    }
    const started = Date.now();
    let fetched = 0;
    let errors = 0;
    try {
      let listed = await this.connectAndList();
      const plan = planFetch(listed, (uid) => this.ctx.intake.known(positionKey(this.name, uid)), this.cfg);
      const deps = this.fetchDeps();
      const ids: number[] = [];
      for (const m of plan.oversize) ids.push(await quarantineOversize(deps, m));
      const f = await fetchInto(this.client!, deps, plan.fetch);
      fetched = f.fetched;
      errors += f.errors;
      ids.push(...f.ids);
      const fetchMs = Date.now() - started;
      if (ids.length && !this.stopping) {
        await Promise.race([this.ctx.awaitOutcomes(ids, this.t.outcomeWaitMs), this.stopped]);
      }
      // The server may have dropped an idle session while we waited: settle on a fresh one.
      if (this.client!.closed) listed = await this.connectAndList();
      const s = await settleAndQuit(this.client!, this.settleDeps(), listed);
      errors += s.errors;
      this.backlog = s.waiting; // deferred (not yet in the ledger) + not final yet
      this.failures = 0;
      this.backoffUntil = null;
      if (errors === 0) this.lastSuccessAt = Date.now();
      this.ctx.log.info(
        { action: 'pop3-run', listed: listed.length, fetched, bytes: f.bytes, oversize: plan.oversize.length,
          deferred: plan.deferred, ...s, fetchMs, ms: Date.now() - started }, // prettier-ignore
        'POP3 run done',
      );
      return { fetched, settled: s.deleted + s.kept + s.left + s.gone, errors };
    } catch (err) {
      this.noteError(err);
      return { fetched, settled: 0, errors: errors + 1 };
    } finally {
      this.client?.destroy();
      this.client = null;
    }
  }

  private async connectAndList(): Promise<Listed[]> {
    this.client?.destroy();
    this.client = null;
    const log = this.ctx.log.child({ proto: 'pop3' });
    const { client } = await openSession(this.cfg, this.ctx.baseDir, this.creds, log, this.t.pipelining);
    this.client = client;
    const [uidl, list] = await Promise.all([client.uidl(), client.list()]);
    return joinListing(uidl, list);
  }

  private fetchDeps(): FetchDeps {
    return {
      source: this.name,
      intake: this.ctx.intake,
      store: this.ctx.store,
      log: this.ctx.log,
      maxMessageSize: this.cfg.maxMessageSize,
      streamThreshold: this.t.streamThreshold,
      window: this.t.window,
      backlogLimit: this.t.backlogLimit,
      now: this.t.now,
      stopping: () => this.stopping,
    };
  }

  private settleDeps(): SettleDeps {
    return {
      source: this.name,
      store: this.ctx.store,
      log: this.ctx.log,
      leaveOnServer: this.cfg.leaveOnServer,
      now: this.t.now,
    };
  }

  private noteError(err: unknown): void {
    const text = err instanceof Error ? err.message : String(err);
    this.lastError = text;
    this.lastErrorAt = Date.now();
    const retryable = isRetryable(err);
    if (retryable) {
      this.failures++;
      this.backoffUntil = Date.now() + backoffDelay(this.failures, this.t.backoff);
    }
    const code = (err as { code?: unknown } | null)?.code;
    this.ctx.log.error(
      { action: 'pop3-run-error', err: text, code, retryable, backoffUntil: this.backoffUntil },
      'POP3 run failed',
    );
  }
}
