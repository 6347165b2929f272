/**
 * Public API for users' handler modules and applications: types of what a handler receives,
 * error classes that say "retry" or "give up", and the reply/ticket helpers.
 */
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
