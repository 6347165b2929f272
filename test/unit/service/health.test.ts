import { describe, expect, it } from 'vitest';
import { cronPeriodMs, judge } from '../../../src/service/health.js';
import type { SourceHealth } from '../../../src/sources/types.js';

const h = (p: Partial<SourceHealth>): SourceHealth => ({
  name: 's',
  kind: 'imap',
  connected: true,
  lastSuccessAt: null,
  lastError: null,
  lastErrorAt: null,
  backoffUntil: null,
  backlog: 0,
  ...p,
});

describe('health', () => {
  it('is unhealthy when no sync happened within the window, naming the last error', () => {
    const now = 1_000_000;
    expect(judge(h({ lastSuccessAt: now - 1000 }), 5000, 0, now).healthy).toBe(true);
    const bad = judge(h({ lastSuccessAt: now - 10_000, lastError: 'ECONNREFUSED' }), 5000, 0, now);
    expect(bad.healthy).toBe(false);
    expect(bad.why).toMatch(/no successful sync within 5s.*ECONNREFUSED/);
    // a fresh start gets one window of grace
    expect(judge(h({}), 5000, now - 1000, now).healthy).toBe(true);
    expect(judge(h({}), 5000, now - 6000, now).healthy).toBe(false);
  });
  it('derives a period from cron expressions', () => {
    expect(cronPeriodMs('*/2 * * * *')).toBe(120_000);
    expect(cronPeriodMs('* * * * *')).toBe(60_000);
    expect(cronPeriodMs('5 * * * *')).toBe(3_600_000);
    expect(cronPeriodMs('0 3 * * *')).toBe(86_400_000);
  });
});
