/**
 * Retry spacing after a failed POP3 run (connection refused, timeout, `-ERR [IN-USE]`,
 * `[LOGIN-DELAY]`): the shared formula with POP3's defaults.
 */
import type { BackoffPolicy } from '../../core/backoff.js';

export { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 15 * 60_000, factor: 2, jitter: 0.5 };

/** True when a failure is worth retrying later (typed errors say so; unknown errors are not). */
export function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}
