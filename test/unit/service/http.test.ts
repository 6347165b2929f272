import { request } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandlerEvent, OutcomeEvent, Pipeline } from '../../../src/core/pipeline.js';
import type { SourceVerdict } from '../../../src/service/health.js';
import { startHttp, type HttpEndpoint } from '../../../src/service/http.js';
import { createMetrics } from '../../../src/service/metrics.js';
import type { SourceHealth } from '../../../src/sources/types.js';
import type { LedgerRow, Store } from '../../../src/store/types.js';
import { httpGet, metric, parseMetrics } from './kit.js';

const health = (p: Partial<SourceHealth>): SourceHealth => ({
  name: 's',
  kind: 'imap',
  connected: true,
  lastSuccessAt: 1_700_000_000_000,
  lastError: null,
  lastErrorAt: null,
  backoffUntil: null,
  backlog: 0,
  ...p,
});

function rig(sources: SourceHealth[]) {
  const outcomes = new Set<(e: OutcomeEvent) => void>();
  const handlers = new Set<(e: HandlerEvent) => void>();
  const pipeline = {
    onOutcome: (fn: (e: OutcomeEvent) => void) => (outcomes.add(fn), () => outcomes.delete(fn)),
    onHandler: (fn: (e: HandlerEvent) => void) => (handlers.add(fn), () => handlers.delete(fn)),
  };
  const store = {
    counts: () => ({ byStatus: { delivered: 3, dead: 1 }, spoolBytes: 12_345, unsettled: 2 }),
  };
  const metrics = createMetrics(store as unknown as Store, pipeline as unknown as Pipeline, () => sources);
  const outcome = (source: string, status: OutcomeEvent['status']) => {
    for (const f of outcomes) f({ row: { id: 1, source } as LedgerRow, status, reason: null });
  };
  const handled = (ok: boolean, durationMs: number) => {
    for (const f of handlers)
      f({ handler: 'out', route: 'all', durationMs, ok, retryable: ok ? null : true });
  };
  return { metrics, outcome, handled, outcomes, handlers };
}

const endpoints: HttpEndpoint[] = [];
afterEach(async () => {
  for (const e of endpoints.splice(0)) await e.close();
});

async function serve(verdicts: SourceVerdict[], sources: SourceHealth[] = verdicts) {
  const r = rig(sources);
  const ep = await startHttp('127.0.0.1:0', {
    metrics: r.metrics,
    health: () => verdicts,
    log: pino({ level: 'silent' }),
  });
  endpoints.push(ep);
  return { ...r, ep };
}

describe('http endpoint', () => {
  it('serves /healthz 200 when every source is healthy, 503 naming the unhealthy one', async () => {
    const ok = await serve([{ ...health({ name: 'a' }), healthy: true, why: null }]);
    const r1 = await httpGet(ok.ep.port, '/healthz');
    expect(r1.status).toBe(200);
    expect(JSON.parse(r1.body)).toMatchObject({ status: 'ok', sources: [{ name: 'a', healthy: true }] });

    const why = 'no successful sync within 5s (last: never); last error: connect ECONNREFUSED';
    const bad = await serve([
      { ...health({ name: 'a' }), healthy: true, why: null },
      {
        ...health({ name: 'b', kind: 'pop3', connected: false, lastError: 'ECONNREFUSED' }),
        healthy: false,
        why,
      },
    ]);
    const r2 = await httpGet(bad.ep.port, '/healthz?x=1');
    expect(r2.status).toBe(503);
    const body = JSON.parse(r2.body) as { status: string; sources: SourceVerdict[] };
    expect(body.status).toBe('unhealthy');
    expect(body.sources.find((s) => !s.healthy)).toMatchObject({ name: 'b', why, lastError: 'ECONNREFUSED' });
  });

  it('serves /metrics: outcomes by source and status, handler latency, spool, connection state', async () => {
    const s = await serve(
      [],
      [
        health({ name: 'imap1' }),
        health({ name: 'pop1', kind: 'pop3', connected: false }),
        health({ name: 'push', kind: 'smtp', lastSuccessAt: null }),
      ],
    );
    s.outcome('imap1', 'delivered');
    s.outcome('imap1', 'delivered');
    s.outcome('pop1', 'failed');
    s.outcome('pop1', 'dead');
    s.handled(true, 20);
    s.handled(false, 3_000);
    const r = await httpGet(s.ep.port, '/metrics');
    expect(r.status).toBe(200);
    const m = parseMetrics(r.body);
    expect(metric(m, 'mailintake_messages_total', { source: 'imap1', status: 'delivered' })).toBe(2);
    expect(metric(m, 'mailintake_messages_total', { source: 'pop1', status: 'dead' })).toBe(1);
    expect(metric(m, 'mailintake_retries_total', { source: 'pop1' })).toBe(1);
    expect(metric(m, 'mailintake_dead_letters_total', { source: 'pop1' })).toBe(1);
    expect(metric(m, 'mailintake_handler_duration_seconds_count', { handler: 'out', result: 'ok' })).toBe(1);
    expect(metric(m, 'mailintake_handler_duration_seconds_count', { handler: 'out', result: 'retry' })).toBe(
      1,
    );
    expect(
      metric(m, 'mailintake_handler_duration_seconds_bucket', { handler: 'out', result: 'ok', le: '0.025' }),
    ).toBe(1);
    expect(metric(m, 'mailintake_spool_bytes')).toBe(12_345);
    expect(metric(m, 'mailintake_unsettled_messages')).toBe(2);
    expect(metric(m, 'mailintake_ledger_messages', { status: 'dead' })).toBe(1);
    expect(metric(m, 'mailintake_source_connected', { source: 'imap1', kind: 'imap' })).toBe(1);
    expect(metric(m, 'mailintake_source_connected', { source: 'pop1' })).toBe(0);
    expect(metric(m, 'mailintake_source_last_success_timestamp_seconds', { source: 'imap1' })).toBe(
      1_700_000_000,
    );
    expect(metric(m, 'mailintake_source_last_success_timestamp_seconds', { source: 'push' })).toBeUndefined();
    s.metrics.close();
    expect(s.outcomes.size + s.handlers.size).toBe(0);
  });

  it('answers 404 and 405', async () => {
    const s = await serve([]);
    expect((await httpGet(s.ep.port, '/nope')).status).toBe(404);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.ep.port, path: '/healthz', method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(405);
  });

  it('closes at once even with a keep-alive scraper connected', async () => {
    const s = await serve([]);
    await httpGet(s.ep.port, '/healthz'); // the global agent keeps the connection alive
    const t0 = Date.now();
    await s.ep.close();
    endpoints.splice(endpoints.indexOf(s.ep), 1);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
