/**
 * Capped exponential backoff with jitter, the one formula used for handler retries and for source
 * reconnects. Pure, so schedules are unit-tested without timers.
 */

/** `jitter` is the fraction of the delay that is randomised (0..1); the result never exceeds the cap. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
}

/**
 * Delay before attempt number `attempt` (1 = first retry after a failure): `base * factor^(attempt-1)`
 * capped at `max`, then drawn uniformly from `[delay * (1 - jitter), delay]`.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** (n - 1));
  const low = raw * (1 - Math.min(1, Math.max(0, policy.jitter)));
  return Math.round(low + (raw - low) * random());
}
