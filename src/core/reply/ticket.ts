/**
 * Ticket/thread matching helpers for routes: signed reply addresses (VERP-style
 * `reply+<tag>.<sig>@domain`), subject tokens ("[#123]") and In-Reply-To/References lookup.
 *
 * Guarantees: pure (the only effect is the caller's `lookup`), never throw on malformed input, and
 * every result says which rule matched and why, so a route can log its decision. Signatures are
 * HMAC-SHA256 over `local`, `tag` and `domain` and are compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Outcome of one matching rule. */
export interface MatchResult<T = string> {
  matched: boolean;
  /** The matched token/ticket id when `matched`. */
  value?: T;
  /** Which rule produced the result, e.g. "reply-address", "subject-token", "in-reply-to". */
  rule: string;
  /** Human-readable reason, e.g. "signature valid", "bad signature", "no token in subject". */
  reason: string;
}

/** Options for signReplyAddress. */
export interface SignReplyAddressOptions {
  /** Local part before the "+", e.g. "reply". */
  local: string;
  /** The ticket/thread tag; letters, digits, "_" and "-" only. */
  tag: string;
  domain: string;
  secret: string | Buffer;
  /** Signature length in base32 characters (default 16 = 80 bits; min 8, max 52). */
  length?: number;
}

/** Result of parseReplyAddress. */
export interface ParsedReplyAddress extends MatchResult {
  /** The tag found in the address (also set when the signature is invalid, for logging). */
  tag: string | null;
  valid: boolean;
}

const TAG_RE = /^[A-Za-z0-9_-]{1,128}$/;
const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const DEFAULT_LENGTH = 16;

function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function signature(
  local: string,
  tag: string,
  domain: string,
  secret: string | Buffer,
  length: number,
): string {
  const mac = createHmac('sha256', secret)
    .update(`${local.toLowerCase()}\n${tag}\n${domain.toLowerCase()}`)
    .digest();
  return base32(mac).slice(0, length);
}

function clampLength(length: number | undefined): number {
  const n = length ?? DEFAULT_LENGTH;
  return Math.min(52, Math.max(8, Math.floor(n)));
}

/** Build `local+tag.sig@domain`; throws TypeError on an unusable tag, local part or domain. */
export function signReplyAddress(opts: SignReplyAddressOptions): string {
  if (!TAG_RE.test(opts.tag)) throw new TypeError(`reply tag must match ${TAG_RE.source}`);
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.local)) throw new TypeError('invalid local part');
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(opts.domain)) throw new TypeError('invalid domain');
  const sig = signature(opts.local, opts.tag, opts.domain, opts.secret, clampLength(opts.length));
  return `${opts.local}+${opts.tag}.${sig}@${opts.domain}`;
}

/** Options for parseReplyAddress; without `secret` the tag is extracted but never `valid`. */
export interface ParseReplyAddressOptions {
  secret?: string | Buffer;
  /** Expected local part (case-insensitive), e.g. "reply". */
  local?: string;
  /** Expected domain (case-insensitive). */
  domain?: string;
  /** Signature length used when signing (default 16); other lengths are rejected, so a shortened
   * signature cannot be used to weaken the check. */
  length?: number;
}

/** Parse and verify a reply address such as `Name <reply+123.abcd…@reply.example.com>`. */
export function parseReplyAddress(address: string, opts: ParseReplyAddressOptions = {}): ParsedReplyAddress {
  const rule = 'reply-address';
  const fail = (reason: string, tag: string | null = null): ParsedReplyAddress => ({
    matched: false,
    valid: false,
    tag,
    rule,
    reason,
  });
  const bare = (/<([^<>]{1,320})>/.exec(address)?.[1] ?? address).trim();
  const m = /^([A-Za-z0-9._-]{1,64})\+([A-Za-z0-9_-]{1,128})\.([a-z2-7]{8,52})@([A-Za-z0-9.-]{1,253})$/i.exec(
    bare,
  );
  if (!m) return fail('not a signed reply address');
  const [, local = '', tag = '', sig = '', domain = ''] = m;
  if (opts.local !== undefined && local.toLowerCase() !== opts.local.toLowerCase()) {
    return fail(`local part ${local} is not ${opts.local}`, tag);
  }
  if (opts.domain !== undefined && domain.toLowerCase() !== opts.domain.toLowerCase()) {
    return fail(`domain ${domain} is not ${opts.domain}`, tag);
  }
  if (opts.secret === undefined) return fail('no secret configured: signature not checked', tag);
  const length = clampLength(opts.length);
  if (sig.length !== length) return fail('bad signature', tag);
  const expected = Buffer.from(signature(local, tag, domain, opts.secret, length));
  const given = Buffer.from(sig.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return fail('bad signature', tag);
  return { matched: true, valid: true, tag, value: tag, rule, reason: 'signature valid' };
}

/** Find a ticket token such as "[#123]" in a subject; the first capture group is the value. */
export function matchSubjectToken(
  subject: string | null | undefined,
  pattern: RegExp = /\[#(\d+)\]/,
): MatchResult {
  const rule = 'subject-token';
  if (!subject) return { matched: false, rule, reason: 'no subject' };
  // Subjects are short; cap what a caller-supplied pattern sees.
  const m = pattern.exec(subject.slice(0, 2000));
  if (!m) return { matched: false, rule, reason: `no ${pattern.source} in subject` };
  const value = m[1] ?? m[0];
  return { matched: true, value, rule, reason: `subject contains ${m[0]}` };
}

/** Thread headers of an inbound message. */
export interface ThreadHeaders {
  inReplyTo?: string | null;
  /** References header (string) or its parsed ids. */
  references?: string | readonly string[] | null;
}

/** Resolve a Message-ID (angle brackets included, e.g. "<abc@x>") to a ticket id. */
export type MessageIdLookup = (messageId: string) => string | undefined | Promise<string | undefined>;

const MAX_REFERENCES = 50;

function ids(value: string | readonly string[] | null | undefined): string[] {
  if (!value) return [];
  const text = typeof value === 'string' ? value : value.join(' ');
  return (text.slice(0, 20_000).match(/<[^<>\s]{1,998}>/g) ?? []).slice(-MAX_REFERENCES);
}

/**
 * Match a message to a thread: In-Reply-To first, then References from newest to oldest (at most
 * the last 50). Returns the ticket id and the header that matched.
 */
export async function matchThread(headers: ThreadHeaders, lookup: MessageIdLookup): Promise<MatchResult> {
  const candidates: Array<[string, string]> = [
    ...ids(headers.inReplyTo).map((id): [string, string] => ['in-reply-to', id]),
    ...ids(headers.references)
      .reverse()
      .map((id): [string, string] => ['references', id]),
  ];
  if (candidates.length === 0)
    return { matched: false, rule: 'thread', reason: 'no In-Reply-To or References' };
  for (const [rule, id] of candidates) {
    const ticket = await lookup(id);
    if (ticket !== undefined) return { matched: true, value: ticket, rule, reason: `${rule} ${id} is known` };
  }
  return { matched: false, rule: 'thread', reason: `none of ${candidates.length} message ids is known` };
}
