import { describe, expect, it } from 'vitest';
import { cronPeriodMs, judge, presentHealth } from '../../../src/service/health.js';
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
  it('reads 6-field (seconds) expressions', () => {
    expect(cronPeriodMs('*/2 * * * * *')).toBe(2_000);
    expect(cronPeriodMs('* * * * * *')).toBe(1_000);
    expect(cronPeriodMs('0,30 * * * * *')).toBe(30_000);
    expect(cronPeriodMs('30 * * * * *')).toBe(60_000);
    expect(cronPeriodMs('0 */5 * * * *')).toBe(300_000);
    expect(cronPeriodMs('0 0 */2 * * *')).toBe(7_200_000);
    expect(cronPeriodMs('0 0 4 * * *')).toBe(86_400_000);
  });
  it('handles ranges, lists and unknown syntax', () => {
    expect(cronPeriodMs('10-20/5 * * * *')).toBe(300_000);
    expect(cronPeriodMs('0-30 * * * *')).toBe(60_000);
    expect(cronPeriodMs('0,15,45 * * * *')).toBe(15 * 60_000);
    expect(cronPeriodMs('50,10 * * * *')).toBe(20 * 60_000); // wraps: :50 → :10
    expect(cronPeriodMs('0 9-17 * * mon-fri')).toBe(3_600_000);
    expect(cronPeriodMs('L * * * *')).toBe(3_600_000);
  });
});

describe('presentHealth', () => {
  it('reports POP3 connected between runs when its latest session succeeded', () => {
    const idle = h({ kind: 'pop3', connected: false, lastSuccessAt: 2000, lastErrorAt: 1000 });
    expect(presentHealth(idle).connected).toBe(true);
    expect(presentHealth(h({ kind: 'pop3', connected: false, lastSuccessAt: 2000 })).connected).toBe(true);
  });
  it('reports POP3 disconnected after a failed session or before the first one', () => {
    const failed = h({ kind: 'pop3', connected: false, lastSuccessAt: 1000, lastErrorAt: 2000 });
    expect(presentHealth(failed).connected).toBe(false);
    expect(presentHealth(h({ kind: 'pop3', connected: false })).connected).toBe(false);
    expect(presentHealth(h({ kind: 'pop3', connected: true, lastErrorAt: 5 })).connected).toBe(true);
  });
  it('leaves IMAP and push as they are', () => {
    const imap = h({ kind: 'imap', connected: false, lastSuccessAt: 2000 });
    expect(presentHealth(imap)).toBe(imap);
    const smtp = h({ kind: 'smtp', connected: false, lastSuccessAt: 2000 });
    expect(presentHealth(smtp)).toBe(smtp);
  });
});
