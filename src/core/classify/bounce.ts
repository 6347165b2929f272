/**
 * Deep path for suspected reports: walk the MIME parts (bounded) and try, in order, an RFC 5965
 * feedback report, an RFC 3464 delivery-status part, an Amazon SES JSON notification, and finally
 * the plain-text heuristics. Returns a negative verdict (with the suspicion reasons) when none fits.
 */
import type { BounceVerdict, BouncedRecipient } from './types.js';
import { header, headers, parseHeaderText, type HeaderField } from './headers.js';
import { walkMessage, type Part } from './mime.js';
import { addressesOf, parseAppleUnsubscribe, parseArf } from './arf.js';
import { parseDsnRecipients } from './bounce-dsn.js';
import { noticeText, parseTextBounce } from './bounce-heuristic.js';
import { parseSes } from './bounce-ses.js';
import { statusClass } from './status.js';
import { normaliseMessageId } from '../message.js';

const DSN_TYPES = new Set([
  'message/delivery-status',
  'message/global-delivery-status',
  'text/delivery-status',
]);
const NOT_FAILED = new Set(['delivered', 'relayed', 'expanded']);

export function noBounce(reasons: string[] = []): BounceVerdict {
  return {
    bounce: false,
    kind: 'none',
    hard: null,
    recipients: [],
    feedbackType: null,
    originalMessageId: null,
    reasons,
  };
}

/** Permanent when any recipient failed (or has a 5.x.x), transient when only delays; else null. */
export function hardOf(recipients: readonly BouncedRecipient[]): boolean | null {
  let soft = false;
  for (const r of recipients) {
    const cls = statusClass(r.status);
    if (r.action === 'failed' || (r.action === null && cls === '5')) return true;
    if (r.action === 'delayed' || (r.action === null && cls === '4')) soft = true;
  }
  return soft ? false : null;
}

function embeddedHeaders(parts: readonly Part[], notice: string, full: string): HeaderField[] {
  const original = parts.find((p) => p.embedded);
  if (original) return parseHeaderText(original.text.replace(/^\n+/, ''));
  // Text bounces: the original headers follow the notice.
  const rest = full.slice(notice.length).replace(/^[^\n]*\n\s*/, '');
  return parseHeaderText(rest);
}

function htmlToText(html: string): string {
  return html
    .replace(/<(?:script|style)[\s\S]*?<\/(?:script|style)>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(?:p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ')
    .replace(/&amp;/g, '&');
}

function noticeSource(parts: readonly Part[]): string {
  const texts = parts.filter((p) => !p.embedded && p.type === 'text/plain').map((p) => p.text);
  if (texts.length > 0) return texts.join('\n');
  const html = parts.filter((p) => !p.embedded && p.type === 'text/html').map((p) => htmlToText(p.text));
  if (html.length > 0) return html.join('\n');
  return parts.find((p) => !p.embedded && p.text !== '')?.text ?? '';
}

function ownAddresses(fields: readonly HeaderField[]): Set<string> {
  const out = new Set<string>();
  for (const name of ['from', 'to', 'return-path', 'reply-to', 'sender']) {
    for (const a of addressesOf(header(fields, name))) out.add(a.toLowerCase());
  }
  return out;
}

/** Full bounce verdict for a suspected report. */
export function detectBounce(
  raw: Buffer,
  fields: HeaderField[],
  bodyOffset: number,
  suspicion: string[],
): BounceVerdict {
  const parts = walkMessage(raw, fields, bodyOffset);
  const source = noticeSource(parts);
  const notice = noticeText(source);
  const original = embeddedHeaders(parts, notice, source);
  const originalMessageId = normaliseMessageId(header(original, 'message-id'));
  const base = { originalMessageId, feedbackType: null };

  const arf = parseArf(parts) ?? parseAppleUnsubscribe(fields);
  if (arf) {
    return {
      ...base,
      bounce: true,
      kind: 'arf',
      hard: null,
      recipients: arf.recipients,
      feedbackType: arf.feedbackType,
      reasons: [...suspicion, ...arf.reasons],
    };
  }
  const top = parts[0];
  if (
    top?.type === 'message/disposition-notification' ||
    parts.some((p) => p.type === 'message/disposition-notification')
  ) {
    return noBounce([...suspicion, 'read receipt (MDN), not a bounce']);
  }

  const dsnPart = parts.find((p) => DSN_TYPES.has(p.type));
  if (dsnPart) {
    const recipients = parseDsnRecipients(dsnPart.text.replace(/^\n+/, ''));
    if (recipients.length > 0) {
      const failed = recipients.some((r) => !NOT_FAILED.has(r.action ?? '') && statusClass(r.status) !== '2');
      const reasons = [...suspicion, `${dsnPart.type} with ${recipients.length} recipient(s)`];
      if (!failed) reasons.push('delivery report without failures');
      return {
        ...base,
        bounce: failed,
        kind: 'dsn',
        hard: failed ? hardOf(recipients) : null,
        recipients,
        reasons,
      };
    }
  }

  const ses = parseSes(source);
  if (ses) {
    const reasons = [...suspicion, `Amazon SES ${ses.kind} notification`];
    const id = ses.messageId ? normaliseMessageId(`<${ses.messageId}>`) : originalMessageId;
    if (ses.kind === 'complaint')
      return {
        bounce: true,
        kind: 'arf',
        hard: null,
        recipients: ses.recipients,
        feedbackType: ses.feedbackType,
        originalMessageId: id,
        reasons,
      };
    const failed = ses.kind === 'bounce';
    return {
      bounce: failed,
      kind: 'heuristic',
      hard: failed ? hardOf(ses.recipients) : null,
      recipients: ses.recipients,
      feedbackType: null,
      originalMessageId: id,
      reasons,
    };
  }

  const result = parseTextBounce(source, {
    autoReplied: /^\s*auto-replied/i.test(header(fields, 'auto-submitted') ?? ''),
    failedRecipients: headers(fields, 'x-failed-recipients').flatMap((v) =>
      addressesOf(v).map((a) => a.toLowerCase()),
    ),
    exclude: ownAddresses(fields),
    originalTo: addressesOf(header(original, 'to')),
  });
  if (result && result.recipients.length > 0) {
    return {
      ...base,
      bounce: true,
      kind: 'heuristic',
      hard: hardOf(result.recipients),
      recipients: result.recipients,
      reasons: [...suspicion, ...result.reasons],
    };
  }
  return noBounce([...suspicion, 'no report found in body']);
}
