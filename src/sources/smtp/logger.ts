/**
 * smtp-server's bunyan-style logger fed into pino. Its lines arrive as (fields, printf format,
 * ...args); they are formatted here (pino would keep only "C:"/"S:") and its own `component` field
 * is dropped. Everything goes to debug: per-connection chatter is not an info event for us (the
 * listener logs its own events). smtp-server already masks AUTH arguments and SASL continuation
 * lines; `pass`/`password` fields are redacted by the root logger.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';

type LogFn = (entry: Record<string, unknown>, message?: unknown, ...args: unknown[]) => void;

export interface SmtpServerLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/** Returns false (smtp-server's no-op logger) unless debug logging is on, so a busy listener pays nothing. */
export function smtpServerLogger(log: Logger): SmtpServerLogger | false {
  if (!log.isLevelEnabled('debug')) return false;
  const child = log.child({ mod: 'smtp-server' });
  const fn =
    (level: 'debug' | 'warn'): LogFn =>
    (entry, message, ...args) => {
      const { component: _component, ...fields } = entry;
      child[level](fields, typeof message === 'string' ? format(message, ...args) : String(message ?? ''));
    };
  return {
    trace: fn('debug'),
    debug: fn('debug'),
    info: fn('debug'),
    warn: fn('warn'),
    error: fn('warn'),
    fatal: fn('warn'),
  };
}
