/** Glue between the parsed message and the reply stripper (src/core/reply). */
import type { MessageContext, ParsedMessage } from './parsed.js';
import { stripReply } from './reply/strip.js';

export function stripReplyOf(p: ParsedMessage): MessageContext['strippedReply'] {
  if (!p.text && !p.html) return null;
  const r = stripReply({ text: p.text, html: p.html });
  return { text: r.text, quoted: r.quoted, signature: r.signature };
}
