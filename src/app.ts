/**
 * Wires the core from a config: store, spool, intake, pipeline, handlers. Sources and the push
 * listener plug into `intake` and `pipeline.onOutcome`.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { Intake } from './core/intake.js';
import { classify } from './core/classify/index.js';
import type { ParseLimits } from './core/parse.js';
import { parser, parserIfLoaded } from './core/parse-lazy.js';
import { ParsePool } from './core/parse-pool.js';
import { Pipeline } from './core/pipeline.js';
import { stripReplyOf } from './core/reply-adapter.js';
import { createHandlers } from './handlers/registry.js';
import type { Handler } from './handlers/types.js';
import { openSqliteStore } from './store/sqlite/store.js';
import { Spool } from './store/spool.js';
import type { Store } from './store/types.js';

const STREAM_PARSE_ABOVE = 1024 * 1024;

export interface App {
  config: Config;
  baseDir: string;
  store: Store;
  spool: Spool;
  intake: Intake;
  pipeline: Pipeline;
  handlers: Map<string, Handler>;
  log: Logger;
  close(): Promise<void>;
}

export function createApp(
  config: Config,
  baseDir: string,
  log: Logger,
  overrides: { handlers?: Map<string, Handler> } = {},
): App {
  const store = openSqliteStore(config.store.sqlite);
  const spool = new Spool(config.store.spool);
  const intake = new Intake(store, spool);
  const handlers = overrides.handlers ?? createHandlers(config.handlers, baseDir);
  const p = config.pipeline;
  const limits: ParseLimits = {
    inlineAttachmentMax: p.inlineAttachmentMax,
    attachmentDir: config.store.attachments,
    maxHeadSize: p.maxHeadSize,
    maxParts: p.maxParts,
    maxHtmlLength: p.maxHtmlLength,
  };
  // mailparser + classify in worker threads (pipeline.parseWorkers), off the listener's event loop.
  const parsePool = new ParsePool({ size: p.parseWorkers });
  const pipeline = new Pipeline({
    store,
    // The bytes must be the ones recorded: a spool file cut short by a power loss before its
    // acknowledgement is quarantined, never handled as if complete.
    readRaw: async (row) => {
      const { raw, cached } = await spool.readChecked(row.spoolPath);
      if (cached) return raw; // the very bytes intake just wrote
      // (SMTP rows hash the client's bytes without our trace header, so only their size is checked.)
      const bad =
        raw.length !== row.size ||
        (row.sourceKind !== 'smtp' && createHash('sha256').update(raw).digest('hex') !== row.sha256);
      if (bad)
        throw new Error(
          `spool file ${row.spoolPath} does not match the recorded size/hash (incomplete write)`,
        );
      return raw;
    },
    // Big messages are parsed from the spool file in 64 KiB chunks rather than as one huge chunk.
    analyse: (raw, row) =>
      parsePool.analyse({
        raw,
        path: raw.length > STREAM_PARSE_ABOVE ? row.spoolPath : null,
        limits,
        key: String(row.id),
      }),
    // Header block only, on this thread (bounded by maxHeadSize): routing and classification need
    // no more, and neither do Maildir or raw-input command handlers.
    analyseHead: async (raw, row) => ({
      parsed: await (parserIfLoaded() ?? (await parser())).parseHeaders(raw, limits, String(row.id)),
      classification: classify(raw),
    }),
    classifyOnly: (raw) => classify(raw),
    notReady: () => intake.pending,
    stripReply: p.stripReplies ? stripReplyOf : undefined,
    routes: config.routes,
    handlers,
    log: log.child({ mod: 'pipeline' }),
    concurrency: p.concurrency,
    maxAttempts: p.maxAttempts,
    backoff: { baseMs: p.backoffBase, maxMs: p.backoffMax },
    handlerTimeoutMs: p.handlerTimeout,
    batchMs: p.batchDelay,
  });
  intake.onReceived(() => pipeline.wake());
  intake.onReady((row) => pipeline.offer(row));
  pipeline.onOutcome(() => intake.processed());
  return {
    config,
    baseDir,
    store,
    spool,
    intake,
    pipeline,
    handlers,
    log,
    async close() {
      await pipeline.stop();
      await parsePool.close();
      for (const h of handlers.values()) await h.close?.();
      await spool.close();
      store.close();
    },
  };
}
