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

/** Rough period of a 5-field cron expression in ms (minute-level steps), for the default window. */
export function cronPeriodMs(expr: string): number {
  const [min = '*', hour = '*'] = expr.trim().split(/\s+/);
  const step = /^\*\/(\d+)$/.exec(min);
  if (step) return Number(step[1]) * 60_000;
  if (min === '*') return 60_000;
  if (/^\d+$/.test(min)) {
    const h = /^\*\/(\d+)$/.exec(hour);
    return h ? Number(h[1]) * 3_600_000 : hour === '*' ? 3_600_000 : 86_400_000;
  }
  return 3_600_000;
}
