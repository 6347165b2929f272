// Test kit for the IMAP source (used by test/integration/imap*.test.ts and bench/): an app wired to
// a harness Dovecot user with a counting handler, plus message builders and server-side probes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createApp, type App } from '../../../../src/app.js';
import { validateConfig } from '../../../../src/config/load.js';
import { PermanentError } from '../../../../src/core/errors.js';
import type { Handler } from '../../../../src/handlers/types.js';
import { outcomeWaiter } from '../../../../src/service/outcomes.js';
import { createImapSource, type ImapSourceTuning } from '../../../../src/sources/imap/source.js';
import type { Source } from '../../../../src/sources/types.js';
import type { Dovecot, DovecotUser } from '../../../harness/dovecot.js';

export interface Rig {
  app: App;
  source: Source;
  /** sha256 → number of handler calls. */
  calls: Map<string, number>;
  /** sha256 → time of the first handler call (ms). */
  firstCall: Map<string, number>;
  total(): number;
  close(): Promise<void>;
}

export interface RigOptions {
  port?: number;
  imap?: Record<string, unknown>;
  source?: Record<string, unknown>;
  tuning?: Partial<ImapSourceTuning>;
  /** Make the handler fail permanently for messages whose raw text contains this marker. */
  failMarker?: string;
  log?: Logger;
  /** The handler waits for this before returning. */
  gate?: Promise<void>;
  /** Start the long-lived part (IDLE). Default true. */
  start?: boolean;
}

export const FAST: Partial<ImapSourceTuning> = {
  backoff: { baseMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5 },
  watchdog: { intervalMs: 1_000, timeoutMs: 1_500 },
  client: { autoIdleDelayMs: 100, connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000 },
  outcomeWaitMs: 10_000,
};

export function sourceConfig(dc: Dovecot, user: DovecotUser, o: RigOptions = {}): Record<string, unknown> {
  return {
    imap: {
      host: '127.0.0.1',
      port: o.port ?? dc.ports.imap,
      secure: false,
      starttls: true,
      user: user.user,
      password: user.password,
      tls: { caFile: dc.caFile, servername: 'localhost' },
      socketTimeout: '20s',
      ...o.imap,
    },
    schedule: '*/5 * * * *',
    idle: true,
    onSuccess: { seen: true },
    onFailure: { move: 'Failed' },
    ...o.source,
  };
}

export async function makeRig(dc: Dovecot, user: DovecotUser, o: RigOptions = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'mi-imap-'));
  const config = validateConfig({
    store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
    log: { level: 'silent' },
    pipeline: { backoffBase: 50, backoffMax: 200, maxAttempts: 2, stripReplies: false },
    sources: { s: sourceConfig(dc, user, o) },
    routes: [{ name: 'all', handlers: ['count'] }],
    handlers: { count: { file: { path: join(dir, 'out') } } },
  });
  const calls = new Map<string, number>();
  const firstCall = new Map<string, number>();
  const handler: Handler = {
    name: 'count',
    handle(msg) {
      calls.set(msg.sha256, (calls.get(msg.sha256) ?? 0) + 1);
      if (!firstCall.has(msg.sha256)) firstCall.set(msg.sha256, Date.now());
      const fail = o.failMarker !== undefined && msg.raw.includes(o.failMarker);
      return (o.gate ?? Promise.resolve()).then(() => {
        if (fail) throw new PermanentError('fail marker');
      });
    },
  };
  const log = o.log ?? pino({ level: process.env.TEST_LOG ?? 'silent' });
  const app = createApp(config, dir, log, { handlers: new Map([['count', handler]]) });
  app.pipeline.start();
  const source = createImapSource(
    {
      name: 's',
      config: config.sources.s!,
      intake: app.intake,
      store: app.store,
      log: log.child({ source: 's' }),
      onOutcome: (fn) => app.pipeline.onOutcome(fn),
      awaitOutcomes: outcomeWaiter(app.store, app.pipeline),
      baseDir: dir,
    },
    { ...FAST, ...o.tuning },
  );
  if (o.start !== false) await source.start();
  return {
    app,
    source,
    calls,
    firstCall,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    async close() {
      await source.stop(5_000);
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A unique RFC 5322 message (its own Message-ID and body, so its sha256 is unique). */
export function message(tag: string, i: number, extra = ''): Buffer {
  const id = `${tag}.${i}.${randomBytes(4).toString('hex')}@test.local`;
  return Buffer.from(
    `From: Sender <sender@test.local>\r\nTo: inbox@test.local\r\nSubject: ${tag} #${i}\r\n` +
      `Message-ID: <${id}>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n\r\nbody ${tag} ${i}\r\n${extra}`,
  );
}

/** Every ledger row of the rig is settled (and there are `n` rows). */
export function allSettled(rig: Rig, n: number): boolean {
  const c = rig.app.store.counts();
  const rows = Object.values(c.byStatus).reduce((a, b) => a + (b ?? 0), 0);
  return (
    rows >= n &&
    rig.app.store.unsettled('s', 1).length === 0 &&
    c.byStatus.received === undefined &&
    !c.byStatus.processing
  );
}
