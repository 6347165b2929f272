/**
 * stripReply: the new text of an e-mail reply, without quoted history and signature.
 *
 * Guarantees:
 * - pure and synchronous; never throws on any string input;
 * - bounded work: at most MAX_INPUT characters are analysed (the rest is returned in `quoted`
 *   untouched), every regex runs on capped lines with bounded quantifiers;
 * - nothing is lost: what is not in `text` is in `signature` or `quoted`, so callers can keep and
 *   show the elided part (every stripper mis-fires on some client).
 */
import { htmlToText } from './html.js';
import { stripText } from './strip-text.js';

/** Input of stripReply: the decoded text/plain and/or text/html body of a message. */
export interface ReplyBody {
  text?: string | null;
  html?: string | null;
}

/** The parts of a reply body. */
export interface StrippedReply {
  /** The new text written by the sender (trimmed). */
  text: string;
  /** Quoted history (attribution lines, `>` quotes, forwarded/original message blocks). */
  quoted: string;
  /** The sender's signature: after `-- `, a separator line, or a "Sent from my …" sign-off. */
  signature: string;
  /**
   * Which rule cut the body: "none", "on-wrote", "le-a-ecrit", "header-block", "original-message",
   * "signature-delimiter", "mobile-signature", "trailing-quote", "leading-quote:<rule>",
   * "html:<container>" (prefix when an HTML quote container split the body), with "+truncated" when
   * the input was longer than MAX_INPUT.
   */
  method: string;
}

/** Characters analysed; beyond this the body is kept in `quoted` without inspection. */
export const MAX_INPUT = 256 * 1024;

function capInput(body: string): { head: string; tail: string } {
  if (body.length <= MAX_INPUT) return { head: body, tail: '' };
  const nl = body.lastIndexOf('\n', MAX_INPUT);
  const at = nl > MAX_INPUT / 2 ? nl : MAX_INPUT;
  return { head: body.slice(0, at), tail: body.slice(at) };
}

function joinParts(...parts: string[]): string {
  return parts.filter((p) => p.trim().length > 0).join('\n\n');
}

/** Strip quoted history and signature from a reply; uses `text` when present, else `html`. */
export function stripReply(input: ReplyBody): StrippedReply {
  const plain = typeof input.text === 'string' ? input.text : '';
  const html = typeof input.html === 'string' ? input.html : '';
  if (plain.trim().length === 0 && html.trim().length > 0) return stripHtml(html);
  const { head, tail } = capInput(plain);
  const r = stripText(head);
  return {
    text: r.text,
    signature: r.signature,
    quoted: joinParts(r.quoted, tail),
    method: tail ? `${r.method}+truncated` : r.method,
  };
}

function stripHtml(html: string): StrippedReply {
  const { head, tail } = capInput(html);
  const split = htmlToText(head);
  const r = stripText(split.text);
  const method = split.marker
    ? r.method === 'none' || r.method === 'trailing-quote'
      ? `html:${split.marker}`
      : `html:${split.marker}/${r.method}`
    : r.method;
  return {
    text: r.text,
    signature: r.signature,
    quoted: joinParts(r.quoted, split.quoted, tail ? htmlToText(tail.slice(0, MAX_INPUT)).text : ''),
    method: tail ? `${method}+truncated` : method,
  };
}
