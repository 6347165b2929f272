/**
 * Public API for users' handler modules and applications: types of what a handler receives,
 * error classes that say "retry" or "give up", and the reply/ticket helpers.
 */
import { loadConfig } from './config/load.js';
import { openThreadMap, type ThreadMap } from './store/sqlite/threads.js';
export type { MessageContext, ParsedMessage, AttachmentInfo, Address } from './core/parsed.js';
export type {
  Classification,
  AutoReplyVerdict,
  BounceVerdict,
  BouncedRecipient,
  LoopVerdict,
} from './core/classify/types.js';
export { LOOP_HEADER } from './core/classify/types.js';
export type { HandlerCall, Handler, UserHandleFn } from './handlers/types.js';
export type { MessagePayload } from './core/payload.js';
export type { RouteMatch, RouteSpec } from './core/router.js';
export { TemporaryError, PermanentError, MailintakeError } from './core/errors.js';
export { classify } from './core/classify/index.js';
export { stripReply } from './core/reply/strip.js';
export { signReplyAddress, parseReplyAddress, matchSubjectToken, matchThread } from './core/reply/ticket.js';
export { notificationHeaders } from './core/reply/outgoing.js';
export { signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './handlers/webhook.js';

export type { TicketSpec, TicketRule, TicketMatch, ThreadLookup } from './core/ticket-route.js';
export { matchTicket } from './core/ticket-route.js';
export { rememberThreads, openThreadMap, type ThreadMap, type ThreadEntry } from './store/sqlite/threads.js';

/**
 * Opens the thread map of the database named by a mailintake config file (default
 * $MAILINTAKE_CONFIG, else config/mailintake.yaml). Call `remember(messageId, ticket)` when your
 * application sends a notification. A relative `store.sqlite` is resolved against the current
 * working directory, as for the worker: use an absolute path when the two run from different places.
 */
export function openThreadMapFromConfig(configPath?: string): ThreadMap {
  const path = configPath ?? process.env.MAILINTAKE_CONFIG ?? 'config/mailintake.yaml';
  return openThreadMap(loadConfig(path).config.store.sqlite);
}
