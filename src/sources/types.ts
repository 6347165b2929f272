/**
 * The source contract. A source only moves bytes in (through `intake`) and settles afterwards,
 * driven by the ledger: `store.unsettled(name)` lists rows whose outcome is final (delivered,
 * dead, skipped) and not yet settled on the server; settle them, then `store.markSettled`.
 * A source never parses, routes or decides, and never imports another source.
 */
import type { Logger } from 'pino';
import type { SourceConfig } from '../config/schema.js';
import type { Intake } from '../core/intake.js';
import type { OutcomeEvent } from '../core/pipeline.js';
import type { Store } from '../store/types.js';

export interface SourceContext {
  name: string;
  config: SourceConfig;
  intake: Intake;
  store: Store;
  log: Logger;
  /** Subscribe to pipeline outcomes (to settle promptly); returns an unsubscribe function. */
  onOutcome: (fn: (e: OutcomeEvent) => void) => () => void;
  /** Resolves when each id is final (delivered/dead/skipped) or failed (retry later), or at the deadline. */
  awaitOutcomes: (ids: number[], timeoutMs: number) => Promise<void>;
  /** Config file directory: relative paths of files the config reads (tls.caFile) resolve here. */
  baseDir: string;
}

export interface SyncResult {
  fetched: number;
  settled: number;
  errors: number;
}

export interface SourceHealth {
  name: string;
  kind: 'imap' | 'pop3' | 'smtp';
  connected: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  /** Next reconnect attempt when in backoff. */
  backoffUntil: number | null;
  /** Messages seen on the server and not yet settled (best known). */
  backlog: number | null;
}

export interface CheckReport {
  ok: boolean;
  capabilities?: string[];
  folders?: string[];
  details?: Record<string, string | number | boolean>;
  error?: string;
}

export interface Source {
  readonly name: string;
  readonly kind: 'imap' | 'pop3';
  /** Long-lived parts (IDLE connections). Scheduling of runOnce is done by the service. */
  start(): Promise<void>;
  /** One complete pass: fetch what is new into intake, wait for outcomes, settle what is final. */
  runOnce(): Promise<SyncResult>;
  /** Stop fetching; settle what is recorded; close connections within the deadline. */
  stop(deadlineMs: number): Promise<void>;
  health(): SourceHealth;
  /** Log in, list capabilities and folders (for `mailintake check`). */
  check(): Promise<CheckReport>;
}

export type SourceFactory = (ctx: SourceContext) => Source;
