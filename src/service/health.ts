/**
 * Health verdicts, pure: a source is unhealthy when it has not synced within its expected
 * interval (healthyWithin, or twice its schedule period plus a minute), or it is in an error state.
 */
import type { SourceHealth } from '../sources/types.js';

export interface SourceVerdict extends SourceHealth {
  healthy: boolean;
  why: string | null;
}

export function judge(
  h: SourceHealth,
  expectedWithinMs: number,
  startedAt: number,
  now: number,
): SourceVerdict {
  const since = h.lastSuccessAt ?? startedAt;
  if (now - since > expectedWithinMs) {
    const last = h.lastSuccessAt ? new Date(h.lastSuccessAt).toISOString() : 'never';
    return {
      ...h,
      healthy: false,
      why: `no successful sync within ${Math.round(expectedWithinMs / 1000)}s (last: ${last})${h.lastError ? `; last error: ${h.lastError}` : ''}`,
    };
  }
  if (h.kind === 'smtp' && !h.connected) return { ...h, healthy: false, why: 'not listening' };
  return { ...h, healthy: true, why: null };
}

/**
 * What the service reports as `connected`. POP3 holds no connection between runs (one session per
 * run), so a POP3 source counts as connected while a session is open or when its latest session
 * succeeded (no error since the last successful run); IMAP and push report their live state.
 */
export function presentHealth(h: SourceHealth): SourceHealth {
  if (h.kind !== 'pop3' || h.connected) return h;
  const ok = h.lastSuccessAt !== null && (h.lastErrorAt === null || h.lastSuccessAt >= h.lastErrorAt);
  return ok ? { ...h, connected: true } : h;
}

const HOUR = 3_600_000;

/**
 * Shortest gap, in units, between the times a cron field fires: `*` 1, `*\/n` n, `a-b` 1,
 * `a-b/n` n, a list its smallest gap (wrapping at `range`); null for a single fixed value.
 */
function fieldStep(field: string, range: number): number | null {
  if (field === '*') return 1;
  const step = /^(?:\*|\d+-\d+)\/(\d+)$/.exec(field);
  if (step) return Math.max(1, Number(step[1]));
  if (/^\d+-\d+$/.test(field)) return 1;
  if (/^\d+$/.test(field)) return null;
  const items = field.split(',');
  if (items.length > 1 && items.every((i) => /^\d+$/.test(i))) {
    const v = [...new Set(items.map(Number))].sort((a, b) => a - b);
    if (v.length === 1) return null;
    let gap = range - v[v.length - 1]! + v[0]!;
    for (let i = 1; i < v.length; i++) gap = Math.min(gap, v[i]! - v[i - 1]!);
    return gap;
  }
  if (items.length > 1) return Math.min(...items.map((i) => fieldStep(i, range) ?? range));
  return NaN; // names, `?`, `L`…: unknown
}

/**
 * Rough period of a node-cron expression in ms, for the default health window: 5 fields
 * (minute-level) or 6 fields with leading seconds (`*\/2 * * * * *` = 2 s). Unknown syntax: 1 h.
 */
export function cronPeriodMs(expr: string): number {
  const f = expr.trim().split(/\s+/);
  const withSeconds = f.length >= 6;
  const [sec = '0', min = '*', hour = '*'] = withSeconds ? f : ['0', ...f];
  const units: Array<[string, number, number]> = [
    [sec, 60, 1000],
    [min, 60, 60_000],
    [hour, 24, HOUR],
  ];
  for (const [field, range, ms] of units) {
    const step = fieldStep(field, range);
    if (step === null) continue;
    return Number.isNaN(step) ? HOUR : step * ms;
  }
  return 24 * HOUR;
}
