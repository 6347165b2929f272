/**
 * RFC 3464 delivery-status parsing: the per-recipient field groups of a message/delivery-status
 * body (or DSN fields found inline in a text bounce). Tolerant of missing blank lines between
 * recipient groups, folded fields and `rfc822;` address-type prefixes.
 */
import type { BouncedRecipient } from './types.js';
import { parseHeaderText } from './headers.js';
import { findReplyCode, resolveStatus } from './status.js';

const MAX_DIAGNOSTIC = 1000;

interface Group {
  final: string | null;
  original: string | null;
  action: string | null;
  status: string | null;
  diagnostic: string | null;
}

/** `rfc822; <A@b.example>` → `a@b.example`; null when no address-like token. */
export function cleanAddress(value: string | null): string | null {
  if (!value) return null;
  let v = value.trim();
  const semi = v.indexOf(';');
  if (semi >= 0 && semi < 20 && !v.slice(0, semi).includes('@')) v = v.slice(semi + 1);
  const m = /<?([^\s<>"';:,()[\]]+@[^\s<>"';:,()[\]]+?)>?[.,;:)]*(?:\s|$)/.exec(v.trim() + ' ');
  return m?.[1] ? m[1].toLowerCase() : null;
}

const RECIPIENT_FIELDS = new Set(['final-recipient', 'original-recipient', 'x-actual-recipient']);

/** Parses DSN field text into per-recipient groups (per-message fields are skipped). */
function groups(text: string): Group[] {
  const out: Group[] = [];
  // Blank lines separate groups; inside one, a repeated recipient field starts the next group.
  for (const block of text.split(/\n[ \t]*\n/)) {
    let g: Group | null = null;
    const pending: Group = { final: null, original: null, action: null, status: null, diagnostic: null };
    for (const f of parseHeaderText(block.replace(/^\n+/, ''))) {
      if (RECIPIENT_FIELDS.has(f.name)) {
        const isFinal = f.name === 'final-recipient';
        const start =
          !g || (isFinal ? g.final !== null : f.name === 'original-recipient' && g.original !== null);
        if (start) {
          // Fields that came before the first recipient field of the block belong to it.
          g = g
            ? { final: null, original: null, action: null, status: null, diagnostic: null }
            : { ...pending };
          out.push(g);
        }
        if (!g) continue;
        if (isFinal) g.final = f.value;
        else if (f.name === 'original-recipient') g.original = f.value;
        else g.final ??= f.value;
        continue;
      }
      const target = g ?? pending;
      if (f.name === 'action') target.action = f.value.trim().toLowerCase().split(/\s/)[0] ?? null;
      else if (f.name === 'status') target.status = f.value.trim();
      else if (f.name === 'diagnostic-code') target.diagnostic = f.value.trim();
    }
  }
  return out;
}

/** Class-only status when the report gives no code at all. */
function statusFromAction(action: string | null): string | null {
  if (action === 'failed' || action === 'expired') return '5.0.0';
  if (action === 'delayed') return '4.0.0';
  if (action === 'delivered' || action === 'relayed' || action === 'expanded') return '2.0.0';
  return null;
}

/** Recipients of a delivery-status text, in report order. */
export function parseDsnRecipients(text: string): BouncedRecipient[] {
  const out: BouncedRecipient[] = [];
  const seen = new Set<string>();
  for (const g of groups(text)) {
    const recipient = cleanAddress(g.final) ?? cleanAddress(g.original);
    if (!recipient) continue;
    const diagText = g.diagnostic?.replace(/^\s*(?:smtp|x-[\w-]+|unix|x\.400)\s*;\s*/i, '') ?? null;
    const replyCode = diagText ? findReplyCode(diagText) : null;
    const status = resolveStatus(g.status, diagText, replyCode) ?? statusFromAction(g.action);
    const key = `${recipient}|${g.action ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      recipient,
      action: g.action,
      status,
      replyCode,
      diagnostic: diagText ? diagText.slice(0, MAX_DIAGNOSTIC) : null,
    });
  }
  return out;
}
