/**
 * The IMAP source. Guarantees: mail is copied into intake (durable) before the cursor passes it;
 * nothing is changed on the server before its outcome is in the ledger; all server work of the
 * source (IDLE-triggered syncs, scheduled runs, settles, watchdog) is serialised by one mutex.
 * IDLE on the first mailbox is a latency optimisation; the scheduled runOnce is the catch-up.
 */
import { resolve } from 'node:path';
import { ImapFlow } from 'imapflow';
import type { ImapConfig } from '../../config/schema.js';
import type { CheckReport, Source, SourceContext, SourceHealth, SyncResult } from '../types.js';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import { checkImap } from './check.js';
import { fetchMailbox } from './fetch.js';
import { Coalescer, Mutex } from './mutex.js';
import { clientOptions, credentialSource, DEFAULT_TUNING, type ClientTuning } from './options.js';
import { settleRows } from './settle.js';
import { errorText, Supervisor } from './supervisor.js';

/** Internal knobs (tests and benches shorten them); not part of the config file. */
export interface ImapSourceTuning {
  backoff: BackoffPolicy;
  watchdog: { intervalMs: number; timeoutMs: number };
  client: ClientTuning;
  streamThreshold: number;
  chunkBytes: number;
  maxPerPass: number;
  /** runOnce waits this long for the outcomes of what it fetched before settling. */
  outcomeWaitMs: number;
  settleDebounceMs: number;
  settleBatch: number;
}

export const DEFAULT_SOURCE_TUNING: ImapSourceTuning = {
  backoff: DEFAULT_BACKOFF,
  watchdog: { intervalMs: 60_000, timeoutMs: 20_000 },
  client: DEFAULT_TUNING,
  streamThreshold: 1024 * 1024,
  chunkBytes: 8 * 1024 * 1024,
  maxPerPass: 500,
  outcomeWaitMs: 60_000,
  settleDebounceMs: 50,
  settleBatch: 500,
};

interface Pass {
  fetched: number;
  ids: number[];
  settled: number;
  errors: number;
}

export function createImapSource(ctx: SourceContext, tuning: Partial<ImapSourceTuning> = {}): Source {
  return new ImapSource(ctx, { ...DEFAULT_SOURCE_TUNING, ...tuning });
}

class ImapSource implements Source {
  readonly kind = 'imap' as const;
  readonly name: string;
  private readonly cfg: ImapConfig;
  private readonly mutex = new Mutex();
  private readonly supervisor: Supervisor;
  private readonly syncs: Coalescer;
  private readonly settles: Coalescer;
  private settleTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private started = false;
  private stopping = false;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private backlog: number | null = null;

  constructor(
    private readonly ctx: SourceContext,
    private readonly t: ImapSourceTuning,
  ) {
    this.name = ctx.name;
    if (!ctx.config.imap) throw new Error(`source ${ctx.name} has no imap block`);
    const imap = ctx.config.imap;
    // tls.caFile is relative to the config file's directory, like every other path in it (and POP3's).
    const caFile = imap.tls.caFile === undefined ? undefined : resolve(ctx.baseDir, imap.tls.caFile);
    this.cfg = caFile === undefined ? imap : { ...imap, tls: { ...imap.tls, caFile } };
    const creds = credentialSource(this.cfg);
    const clientLog = ctx.log.child({ proto: 'imap' });
    this.supervisor = new Supervisor({
      log: clientLog,
      create: async (reconnect) =>
        new ImapFlow(
          clientOptions(this.cfg, await creds.get(reconnect), clientLog, t.client, ctx.config.idle),
        ),
      backoff: t.backoff,
      watchdog: t.watchdog,
      mutex: this.mutex,
      onConnected: () => {
        if (this.started && !this.stopping) void this.syncs.trigger();
      },
      onExists: (path) => {
        if (this.started && !this.stopping && this.cfg.mailboxes.includes(path)) void this.syncs.trigger();
      },
      onAuthFailure: () => creds.onAuthFailure(),
    });
    const onErr = (err: unknown) => this.noteError(err);
    this.syncs = new Coalescer(async () => {
      const p = await this.mutex.run(() => this.syncAll());
      if (p.errors === 0) this.lastSuccessAt = Date.now();
    }, onErr);
    this.settles = new Coalescer(async () => {
      await this.mutex.run(() => this.settleAll());
    }, onErr);
  }

  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    this.unsubscribe = this.ctx.onOutcome((e) => {
      if (e.row.source !== this.name || e.status === 'failed' || this.stopping) return;
      this.settleTimer ??= setTimeout(() => {
        this.settleTimer = null;
        void this.settles.trigger();
      }, this.t.settleDebounceMs);
    });
    if (this.ctx.config.idle) this.supervisor.start();
  }

  async runOnce(): Promise<SyncResult> {
    if (this.stopping) return { fetched: 0, settled: 0, errors: 0 };
    let pass: Pass;
    try {
      pass = await this.mutex.run(() => this.syncAll());
    } catch (err) {
      this.noteError(err);
      return { fetched: 0, settled: 0, errors: 1 };
    }
    if (pass.ids.length) await this.ctx.awaitOutcomes(pass.ids, this.t.outcomeWaitMs);
    try {
      const s = await this.mutex.run(() => this.settleAll());
      pass.settled += s.settled;
      pass.errors += s.errors;
    } catch (err) {
      this.noteError(err);
      pass.errors++;
    }
    if (pass.errors === 0) this.lastSuccessAt = Date.now();
    return { fetched: pass.fetched, settled: pass.settled, errors: pass.errors };
  }

  async stop(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.stopping = true;
    this.unsubscribe?.();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    const left = () => Math.max(0, deadline - Date.now());
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((r) => setTimeout(r, left()).unref())]);
    await bounded(Promise.allSettled([this.syncs.stop(), this.settles.stop()]));
    // Settle what is recorded, if the connection is up and time is left.
    if (this.supervisor.connected && left() > 0)
      await bounded(this.mutex.run(() => this.settleAll()).catch((err: unknown) => this.noteError(err)));
    await this.supervisor.stop(left());
  }

  health(): SourceHealth {
    const s = this.supervisor;
    const useSup = s.lastErrorAt !== null && (this.lastErrorAt === null || s.lastErrorAt > this.lastErrorAt);
    const backoff = s.backoffUntil !== null && s.backoffUntil > Date.now() ? s.backoffUntil : null;
    return {
      name: this.name,
      kind: 'imap',
      connected: s.connected,
      lastSuccessAt: this.lastSuccessAt,
      lastError: useSup ? s.lastError : this.lastError,
      lastErrorAt: useSup ? s.lastErrorAt : this.lastErrorAt,
      backoffUntil: backoff,
      backlog: this.backlog,
    };
  }

  check(): Promise<CheckReport> {
    return checkImap(this.cfg, this.ctx.log.child({ proto: 'imap', mod: 'check' }));
  }

  /** Fetches every mailbox (the IDLE one last, so it stays selected), settling between passes. */
  private async syncAll(): Promise<Pass> {
    const client = await this.supervisor.acquire();
    const pass: Pass = { fetched: 0, ids: [], settled: 0, errors: 0 };
    const [primary, ...others] = this.cfg.mailboxes;
    for (const mailbox of [...others, primary!]) {
      for (;;) {
        if (this.stopping) return pass;
        const r = await fetchMailbox(client, this.fetchDeps(), mailbox);
        pass.fetched += r.ids.length;
        pass.ids.push(...r.ids);
        if (r.remaining === 0) break;
        const s = await this.settleWith(client);
        pass.settled += s.settled;
        pass.errors += s.errors;
      }
    }
    const s = await this.settleWith(client);
    pass.settled += s.settled;
    pass.errors += s.errors;
    this.backlog = this.ctx.store.unsettledCount(this.name);
    return pass;
  }

  private async settleAll(): Promise<{ settled: number; errors: number }> {
    return this.settleWith(await this.supervisor.acquire());
  }

  private async settleWith(client: ImapFlow): Promise<{ settled: number; errors: number }> {
    const total = { settled: 0, errors: 0 };
    for (;;) {
      const rows = this.ctx.store.unsettled(this.name, this.t.settleBatch);
      if (rows.length === 0) break;
      const r = await settleRows(
        client,
        {
          source: this.name,
          store: this.ctx.store,
          log: this.ctx.log,
          onSuccess: this.ctx.config.onSuccess,
          onFailure: this.ctx.config.onFailure,
        },
        rows,
      );
      total.settled += r.settled + r.gone;
      total.errors += r.errors;
      if (r.settled + r.gone === 0 || rows.length < this.t.settleBatch) break;
    }
    if (this.ctx.config.idle && this.cfg.mailboxes.length > 0 && client.usable) {
      // Re-select the IDLE mailbox so auto-IDLE watches it.
      const lock = await client.getMailboxLock(this.cfg.mailboxes[0]!);
      lock.release();
    }
    return total;
  }

  private fetchDeps() {
    return {
      source: this.name,
      cfg: this.cfg,
      intake: this.ctx.intake,
      store: this.ctx.store,
      log: this.ctx.log,
      streamThreshold: this.t.streamThreshold,
      chunkBytes: this.t.chunkBytes,
      maxPerPass: this.t.maxPerPass,
    };
  }

  private noteError(err: unknown): void {
    this.lastError = errorText(err);
    this.lastErrorAt = Date.now();
    this.ctx.log.error({ action: 'imap-sync-error', err: this.lastError }, 'IMAP pass failed');
  }
}
