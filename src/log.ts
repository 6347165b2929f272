/**
 * One pino root. JSON lines by default, pretty on a TTY (unless LOG_FORMAT=json). Secrets are
 * redacted by path; messages never carry credentials (log fields, not prose).
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  'pass',
  'accessToken',
  'refreshToken',
  'clientSecret',
  'secret',
  'token',
  'authorization',
  '*.password',
  '*.pass',
  '*.accessToken',
  '*.refreshToken',
  '*.clientSecret',
  '*.secret',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.*.password',
  '*.*.pass',
  '*.*.accessToken',
  '*.*.secret',
  'auth.pass',
  'auth.accessToken',
];

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = {
    level,
    base: { pid: process.pid },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
  };
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && process.env.LOG_FORMAT !== 'json');
  if (opts.destination) return pino(base, opts.destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: false }));
}

/** node-cron's logger interface, fed into pino (its error(msg, err) would otherwise drop err). */
export function cronLogger(log: Logger) {
  return {
    info: (msg: string) => log.info({ mod: 'cron' }, msg),
    warn: (msg: string) => log.warn({ mod: 'cron' }, msg),
    error: (msg: string | Error, err?: Error) =>
      log.error({ mod: 'cron', err: err ?? msg }, typeof msg === 'string' ? msg : 'cron error'),
    debug: (msg: string | Error, err?: Error) =>
      log.debug({ mod: 'cron', err }, typeof msg === 'string' ? msg : 'cron'),
  };
}
