/** Reconnect backoff of the IMAP supervisor: the shared formula with IMAP's defaults. */
import type { BackoffPolicy } from '../../core/backoff.js';

export { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 5 * 60_000, factor: 2, jitter: 0.5 };
