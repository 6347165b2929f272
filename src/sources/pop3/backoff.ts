/**
 * Retry spacing after a failed run (connection refused, timeout, `-ERR [IN-USE]`, `[LOGIN-DELAY]`):
 * capped exponential with jitter, pure so the schedule is unit-tested. The same formula as the IMAP
 * source's backoff.ts; kept local because a source never imports another source (a shared
 * `src/sources/shared/` for both is the proposed home).
 */

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
  /** Fraction of the delay that is randomised (0..1); the result never exceeds the cap. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 15 * 60_000, factor: 2, jitter: 0.5 };

/** Delay before the next attempt after `failures` consecutive retryable failures (>= 1). */
export function backoffDelay(
  failures: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(failures));
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** (n - 1));
  const low = raw * (1 - Math.min(1, Math.max(0, policy.jitter)));
  return Math.round(low + (raw - low) * random());
}

/** True when a failure is worth retrying later (typed errors say so; unknown errors are not). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}
