/**
 * Prometheus metrics (prom-client, own registry): messages by source and status, handler latency,
 * retries, dead letters, connection state, spool size, unsettled backlog.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Pipeline } from '../core/pipeline.js';
import type { SourceHealth } from '../sources/types.js';
import type { Store } from '../store/types.js';

export interface Metrics {
  registry: Registry;
  close(): void;
}

export function createMetrics(store: Store, pipeline: Pipeline, health: () => SourceHealth[]): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mailintake_process_' });
  const outcomes = new Counter({
    name: 'mailintake_messages_total',
    help: 'Pipeline outcomes since start, by source and status (delivered, failed, dead, skipped)',
    labelNames: ['source', 'status'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'mailintake_retries_total',
    help: 'Messages scheduled for a retry after a temporary failure',
    labelNames: ['source'],
    registers: [registry],
  });
  const dead = new Counter({
    name: 'mailintake_dead_letters_total',
    help: 'Messages quarantined (dead) since start',
    labelNames: ['source'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mailintake_handler_duration_seconds',
    help: 'Handler call duration',
    labelNames: ['handler', 'result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  new Gauge({
    name: 'mailintake_ledger_messages',
    help: 'Messages in the ledger by status',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, n] of Object.entries(store.counts().byStatus)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'mailintake_spool_bytes',
    help: 'Bytes of raw messages in the spool',
    registers: [registry],
    collect() {
      this.set(store.counts().spoolBytes);
    },
  });
  new Gauge({
    name: 'mailintake_unsettled_messages',
    help: 'Pulled messages with a final outcome not yet settled on their server',
    registers: [registry],
    collect() {
      this.set(store.counts().unsettled);
    },
  });
  new Gauge({
    name: 'mailintake_source_connected',
    help: '1 when the source is connected (push: listening)',
    labelNames: ['source', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of health()) this.set({ source: h.name, kind: h.kind }, h.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mailintake_source_last_success_timestamp_seconds',
    help: 'Unix time of the last successful sync (push: last accepted message)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of health()) if (h.lastSuccessAt) this.set({ source: h.name }, h.lastSuccessAt / 1000);
    },
  });
  const offOutcome = pipeline.onOutcome((e) => {
    outcomes.inc({ source: e.row.source, status: e.status });
    if (e.status === 'failed') retries.inc({ source: e.row.source });
    if (e.status === 'dead') dead.inc({ source: e.row.source });
  });
  const offHandler = pipeline.onHandler((e) =>
    latency.observe(
      { handler: e.handler, result: e.ok ? 'ok' : e.retryable ? 'retry' : 'dead' },
      e.durationMs / 1000,
    ),
  );
  return {
    registry,
    close() {
      offOutcome();
      offHandler();
    },
  };
}
