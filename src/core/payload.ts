/** The JSON a handler receives (webhook body, file sidecar, command stdin with `input: json`). */
import type { AttachmentInfo, MessageContext, ParsedMessage } from './parsed.js';
import type { RouteMatch } from './router.js';

/** The parsed fields a handler gets as they are (attachments without their in-memory bytes). */
type PayloadParsed = Pick<
  ParsedMessage,
  | 'from'
  | 'to'
  | 'cc'
  | 'replyTo'
  | 'subject'
  | 'date'
  | 'messageId'
  | 'inReplyTo'
  | 'references'
  | 'text'
  | 'html'
>;

export interface MessagePayload extends PayloadParsed {
  id: number;
  contentKey: string;
  sha256: string;
  idempotencyKey: string;
  source: { kind: string; name: string; position: string };
  receivedAt: string;
  envelope: { mailFrom: string | null; rcptTo: string[] };
  route: { name: string; recipient: string | null; captures: Record<string, string>; why: string[] };
  strippedReply: MessageContext['strippedReply'];
  attachments: Array<Omit<AttachmentInfo, 'content'>>;
  classification: MessageContext['classification'];
  size: number;
  /** base64 of the raw bytes, when not larger than the handler's `rawInlineMax`. */
  raw?: string;
}

export function buildPayload(
  msg: MessageContext,
  match: RouteMatch,
  idempotencyKey: string,
  opts: { includeRaw: boolean },
): MessagePayload {
  const p = msg.parsed;
  const payload: MessagePayload = {
    id: msg.id,
    contentKey: msg.contentKey,
    sha256: msg.sha256,
    idempotencyKey,
    source: { kind: msg.source.kind, name: msg.source.source, position: msg.source.positionKey },
    receivedAt: msg.receivedAt.toISOString(),
    envelope: msg.envelope,
    route: { name: match.route.name, recipient: match.recipient, captures: match.captures, why: match.why },
    from: p.from,
    to: p.to,
    cc: p.cc,
    replyTo: p.replyTo,
    subject: p.subject,
    date: p.date,
    messageId: p.messageId,
    inReplyTo: p.inReplyTo,
    references: p.references,
    text: p.text,
    html: p.html,
    strippedReply: msg.strippedReply,
    attachments: p.attachments.map(({ content: _c, ...a }) => a),
    classification: msg.classification,
    size: msg.raw.length,
  };
  if (opts.includeRaw) payload.raw = msg.raw.toString('base64');
  return payload;
}
