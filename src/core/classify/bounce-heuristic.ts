/**
 * Heuristics for non-standard (plain-text) bounce notices: qmail, Exim, Postfix/Sendmail text,
 * Exchange/Office 365, Gmail, Yahoo, Domino, DragonFly, ... Rather than one parser per MTA, it
 * cuts the text at the "copy of the original message" marker, finds recipients in the typical
 * positions (a line holding just an address, `<addr>...`, `to <addr>`, X-Failed-Recipients, inline
 * DSN fields) and reads the status and reply code from the text block that follows each recipient.
 * Positive only with bounce wording or a status code, so ordinary mail from a postmaster is not a
 * bounce.
 */
import type { BouncedRecipient } from './types.js';
import { cleanAddress, parseDsnRecipients } from './bounce-dsn.js';
import { EXPIRED_TEXT, findEnhanced, findReplyCode, statusClass, TRANSIENT_TEXT } from './status.js';

const MAX_TEXT = 64 * 1024;
const MAX_RECIPIENTS = 100;

/** Start of the returned original message inside a text bounce. */
const ORIGINAL_MARKER = new RegExp(
  [
    '^[ \\t]*-{2,}[^\\n]*(?:copy of (?:the |your )?message|original message|below this line|returned message|message headers|header of (?:the )?original|headers of (?:the |your )?(?:original|returned)|original mail|undelivered message|unsent message|returned mail follows|message text follows|rfc822)',
    '^[ \\t]*message headers follow',
    '^[ \\t]*original message follows',
    '^[ \\t]*bounced e-?mail:',
    '^From \\S+@\\S+ ',
    '^Message-ID:',
    '^[ \\t]*original message headers',
    '^[ \\t]*-{3,}\\s*(?:original|forwarded) message\\s*-{3,}',
    '^(?:Return-Path|Received|X-Received|DKIM-Signature|Delivered-To|ARC-Seal):',
  ].join('|'),
  'im',
);

/** Wording used by bounce notices (any MTA, several languages). */
const BOUNCE_TEXT = new RegExp(
  [
    'qmail-send program',
    "wasn'?t able to deliver",
    "could ?n(?:o|')t be delivered",
    'was not delivered',
    "wasn'?t delivered",
    'not be delivered',
    'undeliver(?:able|ed)',
    'delivery (?:to the following recipients? )?(?:has )?failed',
    'delivery (?:failure|problem|status notification|incomplete|has been delayed|delayed)',
    'failed permanently',
    'permanent (?:error|failure|fatal)',
    'following address(?:\\(es\\)|es)? failed',
    'mail delivery (?:failed|system|subsystem)',
    'returned (?:to sender|mail)',
    'unable to deliver',
    'error (?:delivering|(?:has )?occurred)',
    'rejected by',
    '(?:was|were) rejected',
    'failure reasons?',
    'exceeds? (?:allowed|the|quota|size)',
    'quota exceeded',
    'does not exist',
    'invalid (?:user|recipient|address|mailbox)',
    'delivery errors?',
    'had (?:delivery )?(?:problems|errors)',
    'not a (?:valid|known)',
    'original message was received',
    'transcript of (?:the )?session',
    'user unknown',
    'unknown user',
    'no such (?:user|mailbox|address|recipient)',
    'mailbox (?:is )?(?:full|unavailable|not found|disabled|quota)',
    'over quota',
    'unrouteable address',
    'host (?:not found|unknown)',
    'did not reach',
    'could not deliver',
    "message (?:could not|cannot|can't) be (?:sent|delivered)",
    'rejected (?:your|the) message',
    'message (?:was|has been) rejected',
    'delivery to the following',
    'failed to deliver',
    'not deliverable',
    'non[- ]?delivery',
    'recipient address rejected',
    'smtp error',
    'remote (?:host|server) (?:said|replied|returned)',
    'delay(?:ed)? (?:mail|message|notice|delivery)',
    'will (?:keep|continue) (?:to )?try',
    'unzustellbar',
    'nicht zugestellt',
    'non remis',
    'no se ha podido entregar',
    '配信できません',
    '送信できません',
    'エラー',
  ].join('|'),
  'i',
);

/** Addresses never taken as the failed recipient. */
const SYSTEM_LOCAL =
  /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounces?|no-?reply|double-bounce|root|abuse)(?:[+-].*)?@/i;

/** Starts only at a token start, so a long token without `@` is scanned once (linear). */
const ADDRESS =
  /(?<![a-z0-9!#$%&'*+/=?^_`{|}~.-])[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+/gi;

/** Recipient patterns, each with the address in group 1. */
const RECIPIENT_LINES: RegExp[] = [
  // a line that starts with an address (qmail `<a@b>:`, Exim, Gmail, Yahoo, Exchange `a@b on <date>`)
  /^[ \t]*<?([^\s<>"@:;,]+@[^\s<>":;,]+?)>?(?:[ \t]*$|:|[ \t]*[[(]|[ \t]+\S|\.\.\.)/gm,
  // sendmail transcript `554 <a@b>... Host unknown`
  /^[245]\d\d[ -]<([^\s<>"@]+@[^\s<>"]+)>\.\.\./gm,
  // "delivering your mail to <a@b>", "Your message to <a@b> couldn't", "RCPT TO:<a@b>"
  /\b(?:to|for|recipients?|address(?:ee)?):?[ \t]*<([^\s<>"@]+@[^\s<>"]+)>/gi,
  /^[ \t]*(?:rcpt to|recipient|failed recipient|invalid recipient|original recipient|final recipient|recipient address|address|destinataire|empfänger)(?:\(s\))?[ \t]*:[ \t]*(?:rfc822;)?[ \t]*<?([^\s<>"@]+@[^\s<>"]+?)>?[ \t]*$/gim,
  // "... mailbox exceeds allowed size: a@b" (address ends the line after a colon; not a Message-ID)
  /^(?!message-id|in-reply-to|references|resent-message-id)[^\n]*?:[ \t]+<?([^\s<>"@]+@[^\s<>"]+?)>?[ \t]*$/gim,
];

/** Fingerprints of real MTA bounce generators (strong evidence on their own). */
const MTA_FINGERPRINT =
  /qmail-send program|created automatically by mail delivery software|this is the mail system at host|mail delivery subsystem|transcript of session follows|original message was received at|delivery to the following recipients? failed|google tried to deliver|this is the (?:dragonfly mail agent|mailer-daemon)|delivery has failed to these recipients|your message (?:to|wasn't delivered|couldn't be delivered)|did not reach the following recipient|mail delivery failed|following address(?:\(es\)|es)? failed/i;

export interface HeuristicContext {
  /**
   * The message declares itself an RFC 3834 auto-reply (`Auto-Submitted: auto-replied`): then the
   * text must carry machine evidence (status code, X-Failed-Recipients, an MTA fingerprint), else
   * it is a hand-made notification that we leave to the auto-reply verdict.
   */
  autoReplied: boolean;
  /** Addresses from X-Failed-Recipients (authoritative when present). */
  failedRecipients: string[];
  /** Addresses never reported (the bounce's own From/To/Return-Path). */
  exclude: ReadonlySet<string>;
  /** To of the embedded original message: a last-resort recipient. */
  originalTo: string[];
}

export interface HeuristicResult {
  recipients: BouncedRecipient[];
  reasons: string[];
}

const MAX_LINE = 1000;

/** Bounce notices have short lines; cutting long ones keeps every line regex cheap (linear). */
function cutLongLines(text: string): string {
  let out = '';
  let from = 0;
  let changed = false;
  while (from < text.length) {
    let eol = text.indexOf('\n', from);
    if (eol < 0) eol = text.length;
    if (eol - from > MAX_LINE) {
      out += text.slice(from, from + MAX_LINE);
      changed = true;
    } else out += text.slice(from, eol);
    if (eol < text.length) out += '\n';
    from = eol + 1;
  }
  return changed ? out : text;
}

/** The notice part of a text bounce (before the returned original message). */
export function noticeText(text: string): string {
  const t = cutLongLines(text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text);
  const m = ORIGINAL_MARKER.exec(t);
  // A marker in the first line is a header soup, not a notice: keep everything then.
  return m && m.index > 40 ? t.slice(0, m.index) : t;
}

export function hasBounceWording(text: string): boolean {
  return BOUNCE_TEXT.test(text);
}

function wellFormed(addr: string | null): addr is string {
  return !!addr && /^[^@]+@[^@]+\.[a-z0-9-]+$/i.test(addr);
}

/** Fallback picks skip system mailboxes and the bounce's own From/To. */
function valid(addr: string | null, ctx: HeuristicContext): addr is string {
  return wellFormed(addr) && !SYSTEM_LOCAL.test(addr) && !ctx.exclude.has(addr);
}

function findRecipients(notice: string, ctx: HeuristicContext): { list: string[]; how: string } {
  if (ctx.failedRecipients.length > 0) return { list: ctx.failedRecipients, how: 'X-Failed-Recipients' };
  const hits: { at: number; addr: string }[] = [];
  for (const re of RECIPIENT_LINES) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(notice)) !== null && hits.length < MAX_RECIPIENTS * 4) {
      const addr = cleanAddress(m[1] ?? null);
      if (wellFormed(addr)) hits.push({ at: m.index, addr });
    }
  }
  if (hits.length > 0) {
    hits.sort((a, b) => a.at - b.at);
    return { list: [...new Set(hits.map((h) => h.addr))], how: 'address line' };
  }
  for (const m of notice.matchAll(ADDRESS)) {
    const addr = cleanAddress(m[0]);
    if (valid(addr, ctx)) return { list: [addr], how: 'first address in notice' };
  }
  const orig = ctx.originalTo.map((a) => cleanAddress(a)).filter((a): a is string => valid(a, ctx));
  return { list: orig.slice(0, MAX_RECIPIENTS), how: 'original message To' };
}

interface FoundStatus {
  status: string | null;
  replyCode: string | null;
  diagnostic: string | null;
  inferred: boolean;
}

const squash = (text: string): string | null => text.trim().replace(/\s+/g, ' ').slice(0, 1000) || null;

/**
 * Status of one recipient from the text before it on its line (`lead`), the text up to the next
 * recipient (`segment`) and the whole notice (fallback).
 */
function statusOf(lead: string, segment: string, whole: string): FoundStatus {
  // Sendmail transcripts put the recipient's own code before it: `554 <a@b>... reason`.
  const own = /^[ \t]*([245]\d\d)[ -]<?$/.exec(lead)?.[1];
  const firstLine = segment.split('\n')[0] ?? '';
  if (own && !findEnhanced(firstLine)) {
    return {
      status: `${own[0]}.0.0`,
      replyCode: own,
      diagnostic: squash(firstLine.replace(/^[.>\s]+/, '')),
      inferred: true,
    };
  }
  for (const text of [segment, whole]) {
    const enhanced = findEnhanced(text);
    const replyCode = findReplyCode(text);
    if (enhanced || replyCode) {
      const cls = statusClass(enhanced) ?? statusClass(replyCode);
      return {
        status: enhanced ?? `${cls ?? '5'}.0.0`,
        replyCode,
        diagnostic: squash(segment),
        inferred: !enhanced,
      };
    }
    // Queue expiry after temporary failures: RFC 3463 X.4.7 with the temporary class.
    if (text === segment && EXPIRED_TEXT.test(segment))
      return { status: '4.4.7', replyCode: null, diagnostic: squash(segment), inferred: true };
  }
  const cls = TRANSIENT_TEXT.test(whole) ? '4' : '5';
  return { status: `${cls}.0.0`, replyCode: null, diagnostic: squash(segment), inferred: true };
}

/** Text-bounce verdict from decoded notice text; null when nothing bounce-like is found. */
export function parseTextBounce(text: string, ctx: HeuristicContext): HeuristicResult | null {
  const notice = noticeText(text);
  const reasons: string[] = [];
  // Inline DSN fields (some MTAs, or a forwarded bounce, put them in text/plain).
  const fieldsAt = text.search(/^[ \t]*(?:final|original)-recipient:/im);
  if (fieldsAt >= 0 && fieldsAt < MAX_TEXT) {
    const inline = parseDsnRecipients(
      text.slice(fieldsAt, fieldsAt + MAX_TEXT).replace(/^[ \t]+(?=[\w-]+:)/gm, ''),
    );
    if (inline.length > 0) return { recipients: inline, reasons: ['inline DSN fields'] };
  }
  const worded = hasBounceWording(notice);
  const { list, how } = findRecipients(notice, ctx);
  if (list.length === 0) return null;
  const coded = findEnhanced(notice) !== null || findReplyCode(notice) !== null;
  if (!worded && !findEnhanced(notice) && ctx.failedRecipients.length === 0) return null;
  if (ctx.autoReplied && !coded && ctx.failedRecipients.length === 0 && !MTA_FINGERPRINT.test(notice))
    return null;
  reasons.push(worded ? 'bounce wording' : 'status code in notice', `recipients: ${how}`);
  const lower = notice.toLowerCase();
  const positions = list.map((a) => lower.indexOf(a));
  const recipients: BouncedRecipient[] = list.slice(0, MAX_RECIPIENTS).map((recipient, i) => {
    const at = positions[i] ?? -1;
    let end = notice.length;
    for (const p of positions) if (p > at && p < end) end = p;
    const segment = at >= 0 ? notice.slice(at + recipient.length, end) : '';
    const lead = at >= 0 ? notice.slice(notice.lastIndexOf('\n', at) + 1, at) : '';
    const s = statusOf(lead, segment, notice);
    if (s.inferred) reasons.push(`status inferred for ${recipient}`);
    // Queue expiry is final (the message came back) even though its status class is 4.
    const action = statusClass(s.status) === '4' && !EXPIRED_TEXT.test(segment) ? 'delayed' : 'failed';
    return { recipient, action, status: s.status, replyCode: s.replyCode, diagnostic: s.diagnostic };
  });
  return { recipients, reasons };
}
