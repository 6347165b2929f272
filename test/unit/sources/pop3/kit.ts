// Test kit for the POP3 source (test/integration/pop3-source*.test.ts, unit source tests, bench):
// an app with a counting handler wired to a POP3 server (harness Dovecot or the fake server), and
// ledger/server probes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createApp, type App } from '../../../../src/app.js';
import { validateConfig } from '../../../../src/config/load.js';
import { PermanentError } from '../../../../src/core/errors.js';
import type { Handler } from '../../../../src/handlers/types.js';
import { outcomeWaiter } from '../../../../src/service/outcomes.js';
import { createPop3Source, type Pop3SourceTuning } from '../../../../src/sources/pop3/source.js';
import type { Source, SourceContext } from '../../../../src/sources/types.js';

export interface PopRig {
  app: App;
  dir: string;
  source: Source;
  /** sha256 → handler calls. */
  calls: Map<string, number>;
  /** sha256 → raw bytes the handler saw. */
  seen: Map<string, Buffer>;
  /** A second source on the same app and config (e.g. another clock). */
  another(tuning: Partial<Pop3SourceTuning>): Source;
  total(): number;
  close(): Promise<void>;
}

export interface PopRigOptions {
  /** The `pop3` block (host, port, user, ... ). */
  pop3: Record<string, unknown>;
  tuning?: Partial<Pop3SourceTuning>;
  /** Permanent handler failure for messages containing this marker. */
  failMarker?: string;
  log?: Logger;
}

export const FAST_POP3: Partial<Pop3SourceTuning> = {
  backoff: { baseMs: 100, maxMs: 1_000, factor: 2, jitter: 0 },
  outcomeWaitMs: 15_000,
};

export async function makePopRig(o: PopRigOptions): Promise<PopRig> {
  const dir = await mkdtemp(join(tmpdir(), 'mi-pop3-'));
  const config = validateConfig({
    store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
    log: { level: 'silent' },
    pipeline: { backoffBase: 50, backoffMax: 200, maxAttempts: 2, stripReplies: false },
    sources: { s: { pop3: { commandTimeout: '10s', ...o.pop3 } } },
    routes: [{ name: 'all', handlers: ['count'] }],
    handlers: { count: { file: { path: join(dir, 'out') } } },
  });
  const calls = new Map<string, number>();
  const seen = new Map<string, Buffer>();
  const handler: Handler = {
    name: 'count',
    async handle(msg) {
      calls.set(msg.sha256, (calls.get(msg.sha256) ?? 0) + 1);
      seen.set(msg.sha256, Buffer.from(msg.raw));
      if (o.failMarker !== undefined && msg.raw.includes(o.failMarker))
        throw new PermanentError('fail marker');
    },
  };
  const log = o.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' });
  const app = createApp(config, dir, log, { handlers: new Map([['count', handler]]) });
  app.pipeline.start();
  const ctx: SourceContext = {
    name: 's',
    config: config.sources.s!,
    intake: app.intake,
    store: app.store,
    log: log.child({ source: 's' }),
    onOutcome: (fn) => app.pipeline.onOutcome(fn),
    awaitOutcomes: outcomeWaiter(app.store, app.pipeline),
    baseDir: dir,
  };
  const sources: Source[] = [];
  const another = (tuning: Partial<Pop3SourceTuning>): Source => {
    const s = createPop3Source(ctx, { ...FAST_POP3, ...o.tuning, ...tuning });
    sources.push(s);
    return s;
  };
  const source = another({});
  return {
    app,
    dir,
    source,
    calls,
    seen,
    another,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    async close() {
      for (const s of sources) await s.stop(5_000);
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Settle actions of all ledger rows of source `s`, by position key. */
export function settleActions(app: App): Map<string, { status: string; action: string | null }> {
  const out = new Map<string, { status: string; action: string | null }>();
  for (const status of ['received', 'processing', 'delivered', 'failed', 'dead', 'skipped'] as const) {
    for (const r of app.store.recent(status, 100_000)) out.set(r.positionKey, { status: r.status, action: r.settleAction }); // prettier-ignore
  }
  return out;
}
