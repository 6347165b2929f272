/**
 * The worker: pipeline + pull sources on node-cron schedules (never overlapping per source) +
 * IDLE connections + the push listener. Sources fail alone; a failing source does not stop others.
 */
import type { ScheduledTask } from 'node-cron';
import type { App } from '../app.js';
import { preloadParser } from '../core/parse-lazy.js';
import { cronLogger } from '../log.js';
import { createSource } from '../sources/registry.js';
import type { Source, SourceHealth } from '../sources/types.js';
import { cronPeriodMs, judge, presentHealth, type SourceVerdict } from './health.js';
import type { HttpEndpoint } from './http.js';
import type { Metrics } from './metrics.js';
import { outcomeWaiter } from './outcomes.js';
import type { PushListener, StartPushListener } from './push-contract.js';

export interface RunOptions {
  push: boolean;
  once: boolean;
}

export interface Service {
  sources: Source[];
  push: PushListener | null;
  health(): SourceHealth[];
  /** Health with verdicts (what /healthz serves). */
  verdicts(): SourceVerdict[];
  http: HttpEndpoint | null;
  /** Graceful stop within the deadline. */
  stop(deadlineMs: number): Promise<void>;
  /** Resolves with the exit code for --once. */
  done: Promise<number>;
}

export async function startService(app: App, opts: RunOptions): Promise<Service> {
  const { config, log } = app;
  const preload = () =>
    preloadParser((err) =>
      log.error({ action: 'parser-load-failed', err }, 'the message parser could not be loaded'),
    );
  // --once: listen for dead letters before the pipeline starts (it resumes unfinished rows at once).
  let sawDead = false;
  const offDead = opts.once
    ? app.pipeline.onOutcome((e) => {
        if (e.status === 'dead') sawDead = true;
      })
    : () => undefined;
  app.pipeline.start();
  const awaitOutcomes = outcomeWaiter(app.store, app.pipeline);
  const sources: Source[] = [];
  for (const [name, sc] of Object.entries(config.sources)) {
    sources.push(
      await createSource({
        name,
        config: sc,
        intake: app.intake,
        store: app.store,
        log: log.child({ source: name }),
        onOutcome: (fn) => app.pipeline.onOutcome(fn),
        awaitOutcomes,
        baseDir: app.baseDir,
      }),
    );
  }
  let push: PushListener | null = null;
  if (opts.push) {
    const spec = '../sources/smtp/index.js';
    const mod = (await import(spec)) as { startPushListener: StartPushListener };
    const pushCfg =
      config.push ?? (await import('../config/schema.js')).configSchema.shape.push.unwrap().parse({});
    push = await mod.startPushListener({
      config: pushCfg,
      intake: app.intake,
      log: log.child({ source: 'push' }),
      routeRecipients: config.routes.flatMap((r) =>
        r.to === undefined ? [] : Array.isArray(r.to) ? r.to : [r.to],
      ),
      baseDir: app.baseDir,
    });
    const a = push.address();
    log.info({ action: 'listening', host: a.host, port: a.port }, 'push listener ready');
  }

  const startedAt = Date.now();
  const health = () =>
    [...sources.map((s) => s.health()), ...(push ? [push.health()] : [])].map(presentHealth);
  const verdicts = () =>
    health().map((h) => {
      const sc = config.sources[h.name];
      const window = sc
        ? (sc.healthyWithin ?? 2 * cronPeriodMs(sc.schedule) + 60_000)
        : Number.POSITIVE_INFINITY;
      return judge(h, window, startedAt, Date.now());
    });
  let metrics: Metrics | null = null;
  let http: HttpEndpoint | null = null;
  if (config.http) {
    // Loaded only when configured (prom-client alone is ~40 ms of start-up, which `run --once`
    // from cron pays on every run).
    const [{ createMetrics }, { startHttp }] = await Promise.all([
      import('./metrics.js'),
      import('./http.js'),
    ]);
    metrics = createMetrics(app.store, app.pipeline, health);
    http = await startHttp(config.http.listen, { metrics, health: verdicts, log });
  }

  const tasks: ScheduledTask[] = [];
  let done: Promise<number>;
  if (opts.once) {
    done = (async () => {
      let failed = false;
      for (const s of sources) {
        try {
          const r = await s.runOnce();
          if (r.errors) failed = true;
        } catch (err) {
          failed = true;
          log.error({ err, source: s.name }, 'source run failed');
        }
      }
      await app.pipeline.idle();
      // Outcomes that arrived after a source stopped waiting: one more pass settles them.
      for (const s of sources) {
        if (!app.store.unsettledCount(s.name)) continue;
        const r = await s.runOnce().catch((err: unknown) => {
          log.error({ err, source: s.name }, 'settle pass failed');
          return { errors: 1 };
        });
        if (r.errors) failed = true;
      }
      await app.pipeline.idle();
      offDead();
      return failed || sawDead ? 1 : 0;
    })();
  } else {
    const cron = (await import('node-cron')).default;
    cron.setLogger?.(cronLogger(log));
    for (const s of sources) {
      s.start().catch((err: unknown) => log.error({ err, source: s.name }, 'source start failed'));
      const sc = config.sources[s.name]!;
      const run = async () => {
        try {
          await s.runOnce();
        } catch (err) {
          log.error({ err, source: s.name }, 'scheduled run failed');
        }
      };
      tasks.push(
        cron.schedule(sc.schedule, run, { name: `poll-${s.name}`, noOverlap: true, timezone: 'UTC' }),
      );
      void run();
    }
    done = new Promise<number>(() => undefined);
  }
  // The sources have started connecting (the --once loop and the scheduled runs above went as far
  // as their first wait): the parser loads meanwhile, not before (see parse-lazy.ts), and only when
  // some message may need it.
  if (app.pipeline.mayParse) preload();

  return {
    sources,
    push,
    health,
    verdicts,
    http,
    done,
    async stop(deadlineMs: number) {
      const t0 = Date.now();
      // Graceful work gets the deadline minus a reserve for aborting handlers still running and
      // closing up, so the process is gone by the deadline, not just starting its hard stop then.
      const deadline = t0 + deadlineMs - Math.min(1_000, Math.floor(deadlineMs / 10));
      const phase = (what: string) => log.debug({ action: 'stop-phase', what, ms: Date.now() - t0 }, what);
      for (const t of tasks) await t.destroy();
      phase('schedules stopped');
      const left = () => Math.max(0, deadline - Date.now());
      await Promise.allSettled([
        push?.close(Math.min(config.push?.shutdownGrace ?? 30_000, left())),
        ...sources.map((s) => s.stop(left())),
      ]);
      phase('sources stopped');
      await Promise.race([app.pipeline.stop(), new Promise((r) => setTimeout(r, left()).unref())]);
      phase('pipeline drained');
      await app.pipeline.abortInFlight();
      phase('pipeline stopped');
      metrics?.close();
      await http?.close();
      log.info({ action: 'stopped', ms: Date.now() - t0, deadlineMs }, 'service stopped');
    },
  };
}
