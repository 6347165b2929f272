/** The handler contract. A handler throws TemporaryError/PermanentError (or anything: retried). */
import type { Logger } from 'pino';
import type { MessageContext } from '../core/parsed.js';
import type { RouteMatch } from '../core/router.js';

export interface HandlerCall {
  /** Stable across retries and restarts: `<contentKey sha>:<route>:<handler>[:<recipient>]`. */
  idempotencyKey: string;
  attempt: number;
  match: RouteMatch;
  signal: AbortSignal;
  log: Logger;
}

export interface Handler {
  readonly name: string;
  /**
   * False when the handler reads only the raw bytes, the envelope and header fields: the pipeline
   * then parses only the message's header block. Undefined counts as true (a user's module may read
   * anything).
   */
  readonly needsBody?: boolean;
  handle(msg: MessageContext, call: HandlerCall): Promise<void>;
  close?(): Promise<void>;
}

/** What a user's own module exports: `export async function handle(message, ctx) {}`. */
export type UserHandleFn = (message: MessageContext, ctx: HandlerCall) => unknown;
