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
  /**
   * False when the handler reads no header field either: only the raw bytes, the envelope, ids and
   * the classification (implies `needsBody: false`). When every handler a message goes to says so
   * and no route reads a header field, the pipeline parses nothing and `msg.parsed` is empty (no
   * addresses, subject or header map). Undefined counts as true.
   */
  readonly needsHeaders?: boolean;
  handle(msg: MessageContext, call: HandlerCall): Promise<void>;
  close?(): Promise<void>;
}

/** What a user's own module exports: `export async function handle(message, ctx) {}`. */
export type UserHandleFn = (message: MessageContext, ctx: HandlerCall) => unknown;
