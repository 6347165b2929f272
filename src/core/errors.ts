/**
 * Failures are classified once, here. Every error that reaches the pipeline is mapped to
 * "retry later" or "permanent" by `classifyFailure`; nothing else decides.
 */

export class MailintakeError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, opts: { code: string; retryable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retryable = opts.retryable;
  }
}

/** A handler failure that should be retried (HTTP 5xx, timeout, exit code 75, network error). */
export class TemporaryError extends MailintakeError {
  constructor(message: string, code = 'TEMPORARY', cause?: unknown) {
    super(message, { code, retryable: true, cause });
  }
}

/** A handler failure that will not get better by retrying (HTTP 4xx, bad exit code, invalid input). */
export class PermanentError extends MailintakeError {
  constructor(message: string, code = 'PERMANENT', cause?: unknown) {
    super(message, { code, retryable: false, cause });
  }
}

/** The message is larger than the configured cap. Carries the SMTP reply code to use. */
export class SizeLimitError extends MailintakeError {
  readonly responseCode = 552;
  constructor(readonly limit: number) {
    super(`message exceeds the size limit of ${limit} bytes`, { code: 'SIZE_LIMIT', retryable: false });
  }
}

/** Configuration is invalid; `path` names the field, `fix` says what to do. */
export class ConfigError extends MailintakeError {
  constructor(
    readonly path: string,
    message: string,
    readonly fix: string,
  ) {
    super(`${path}: ${message}. Fix: ${fix}`, { code: 'CONFIG', retryable: false });
  }
}

const TRANSIENT_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOSPC',
  'EMFILE',
  'ENFILE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export interface FailureVerdict {
  retryable: boolean;
  code: string;
  reason: string;
}

/** The single place deciding whether a failure is permanent or transient. Unknown errors retry. */
export function classifyFailure(err: unknown): FailureVerdict {
  if (err instanceof MailintakeError) {
    return { retryable: err.retryable, code: err.code, reason: err.message };
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && TRANSIENT_NODE_CODES.has(code)) {
      return { retryable: true, code, reason: err.message };
    }
    if (err.name === 'AbortError' || err.name === 'TimeoutError') {
      return { retryable: true, code: 'TIMEOUT', reason: err.message };
    }
    // A handler that throws an unexpected error is a temporary failure, never a silent success
    // and never an instant quarantine: max attempts bound it.
    return { retryable: true, code: code ?? 'ERROR', reason: err.message };
  }
  return { retryable: true, code: 'ERROR', reason: String(err) };
}
