// Typed POP3 errors, classified once: every failure carries a `code` and whether retrying later can
// help. RFC 2449/3206 response codes ([IN-USE], [LOGIN-DELAY], [SYS/TEMP], [SYS/PERM], [AUTH]) decide
// the class of a -ERR; socket failures and timeouts are retryable; certificate failures are not.

/** Error classes of the POP3 client. */
export type Pop3ErrorCode =
  | 'AUTH'
  | 'IN_USE'
  | 'LOGIN_DELAY'
  | 'SYS_TEMP'
  | 'SYS_PERM'
  | 'ERR'
  | 'TIMEOUT'
  | 'CONNECTION'
  | 'TLS'
  | 'PROTOCOL'
  | 'SIZE'
  | 'UNSUPPORTED'
  | 'CLOSED';

/** A POP3 failure. `command` is the command name only (never its arguments). */
export class Pop3Error extends Error {
  override readonly name: string = 'Pop3Error';
  readonly command: string | undefined;
  readonly response: string | undefined;

  constructor(
    readonly code: Pop3ErrorCode,
    message: string,
    readonly retryable: boolean,
    extra: { command?: string | undefined; response?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.command = extra.command;
    this.response = extra.response;
  }
}

/** The message exceeded the configured `maxMessageBytes`. */
export class Pop3SizeError extends Pop3Error {
  override readonly name = 'Pop3SizeError';
  constructor(
    readonly limit: number,
    command: string,
  ) {
    super('SIZE', `message exceeds the ${limit}-byte limit`, false, { command });
  }
}

const AUTH_COMMANDS = new Set(['USER', 'PASS', 'APOP', 'AUTH']);

/** Maps a `-ERR ...` line (text after "-ERR") for `command` to a typed error. Pure. */
export function classifyErrResponse(command: string, text: string): Pop3Error {
  const code = /^\s*\[([A-Za-z/-]+)/.exec(text)?.[1]?.toUpperCase();
  const extra = { command, response: `-ERR${text}` };
  const msg = `${command} failed: -ERR${text}`;
  switch (code) {
    case 'IN-USE':
      return new Pop3Error('IN_USE', msg, true, extra);
    case 'LOGIN-DELAY':
      return new Pop3Error('LOGIN_DELAY', msg, true, extra);
    case 'SYS/TEMP':
      return new Pop3Error('SYS_TEMP', msg, true, extra);
    case 'SYS/PERM':
      return new Pop3Error('SYS_PERM', msg, false, extra);
    case 'AUTH':
      return new Pop3Error('AUTH', msg, false, extra);
    default:
      if (AUTH_COMMANDS.has(command)) return new Pop3Error('AUTH', msg, false, extra);
      // A server refusing the session up front (busy, maintenance) is worth another try later.
      if (command === 'GREETING') return new Pop3Error('ERR', msg, true, extra);
      return new Pop3Error('ERR', msg, false, extra);
  }
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Maps a socket/TLS error to a Pop3Error: certificate problems are permanent, the rest retryable. */
export function classifySocketError(err: unknown, command?: string): Pop3Error {
  if (err instanceof Pop3Error) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  const extra = command === undefined ? { cause: err } : { command, cause: err };
  if (typeof code === 'string' && TLS_CODES.has(code)) {
    return new Pop3Error(
      'TLS',
      `TLS certificate verification failed (${code}): ${text}; pass the server's CA as \`ca\``,
      false,
      extra,
    );
  }
  return new Pop3Error('CONNECTION', `connection failed: ${text}`, true, extra);
}
