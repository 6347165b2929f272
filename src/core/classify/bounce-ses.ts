/**
 * Amazon SES event notifications delivered by e-mail (SNS topic subscriptions): a JSON body with
 * notificationType Bounce | Complaint | Delivery, possibly wrapped in an SNS envelope whose
 * `Message` is the JSON string. Parsed only when the body looks like such JSON; bounded.
 */
import type { BouncedRecipient } from './types.js';
import { findReplyCode, resolveStatus } from './status.js';

const MAX_JSON = 256 * 1024;

export interface SesResult {
  kind: 'bounce' | 'complaint' | 'delivery';
  recipients: BouncedRecipient[];
  feedbackType: string | null;
  messageId: string | null;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | null =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function parseJson(raw: string): Json | null {
  // Long JSON lines arrive folded as `!` + newline + space by the relaying MTA.
  const text = raw.replace(/!\n /g, '');
  const start = text.indexOf('{');
  if (start < 0 || start > 200 || !text.includes('notificationType')) return null;
  const end = text.lastIndexOf('}');
  if (end <= start || end - start > MAX_JSON) return null;
  try {
    return obj(JSON.parse(text.slice(start, end + 1)));
  } catch {
    return null;
  }
}

function recipient(
  addr: string | null,
  action: string | null,
  status: string | null,
  diagnostic: string | null,
): BouncedRecipient | null {
  if (!addr?.includes('@')) return null;
  const diag = diagnostic?.replace(/^\s*smtp\s*;\s*/i, '') ?? null;
  const replyCode = diag ? findReplyCode(diag) : null;
  return {
    recipient: addr.trim().toLowerCase(),
    action,
    status: resolveStatus(status, diag, replyCode),
    replyCode,
    diagnostic: diag?.slice(0, 1000) ?? null,
  };
}

export function parseSes(text: string): SesResult | null {
  let j = parseJson(text);
  const inner = j ? str(j['Message']) : null;
  if (inner) j = parseJson(inner);
  if (!j) return null;
  const type = str(j['notificationType'])?.toLowerCase();
  const messageId = str(obj(j['mail'])?.['messageId']);
  const out: BouncedRecipient[] = [];
  if (type === 'bounce') {
    const b = obj(j['bounce']);
    const soft = str(b?.['bounceType']) === 'Transient';
    for (const r of arr(b?.['bouncedRecipients'])) {
      const o = obj(r);
      const rec = recipient(
        str(o?.['emailAddress']),
        str(o?.['action']) ?? (soft ? 'delayed' : 'failed'),
        str(o?.['status']),
        str(o?.['diagnosticCode']),
      );
      if (rec) out.push(rec);
    }
    return { kind: 'bounce', recipients: out, feedbackType: null, messageId };
  }
  if (type === 'complaint') {
    const c = obj(j['complaint']);
    for (const r of arr(c?.['complainedRecipients'])) {
      const rec = recipient(str(obj(r)?.['emailAddress']), null, null, null);
      if (rec) out.push({ ...rec, status: null });
    }
    return {
      kind: 'complaint',
      recipients: out,
      feedbackType: str(c?.['complaintFeedbackType']) ?? 'abuse',
      messageId,
    };
  }
  if (type === 'delivery') {
    const d = obj(j['delivery']);
    const smtp = str(d?.['smtpResponse']);
    for (const r of arr(d?.['recipients'])) {
      const rec = recipient(str(r), 'delivered', null, smtp);
      if (rec) out.push(rec);
    }
    return { kind: 'delivery', recipients: out, feedbackType: null, messageId };
  }
  return null;
}
