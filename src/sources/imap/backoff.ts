/**
 * Reconnect backoff: capped exponential with jitter. Pure, so the schedule is unit-tested without
 * sockets; the supervisor only asks "how long until the next attempt".
 */

/** Backoff parameters. `jitter` is the fraction of the delay that is randomised (0..1). */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, factor: 2, jitter: 0.5 };

/**
 * Delay before reconnect attempt number `attempt` (1 = first retry after a failure).
 * The un-jittered delay is `base * factor^(attempt-1)` capped at `max`; jitter then draws the
 * result uniformly from `[delay * (1 - jitter), delay]`, so it never exceeds the cap.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** (n - 1));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const low = raw * (1 - jitter);
  return Math.round(low + (raw - low) * random());
}
