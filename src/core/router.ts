/**
 * Routing: first match wins, per recipient. Pure logic: a route is a set of predicates over the
 * envelope/headers/classification; recipient patterns such as `reply+{ticket}@example.com` capture.
 * The last route must be a catch-all (checked when the config is loaded).
 */
import type { Classification } from './classify/types.js';
import type { Envelope } from './message.js';
import type { ParsedMessage } from './parsed.js';
import { matchTicket, type ThreadLookup, type TicketSpec } from './ticket-route.js';

/** A string pattern: `/regex/flags`, or a glob where `*` is any run and `{name}` captures. */
export type Pattern = string;

export interface RouteSpec {
  name: string;
  to?: Pattern | Pattern[] | undefined;
  from?: Pattern | Pattern[] | undefined;
  subject?: Pattern | undefined;
  headers?: Record<string, Pattern> | undefined;
  when?:
    { autoReply?: boolean | undefined; bounce?: boolean | undefined; loop?: boolean | undefined } | undefined;
  /** Ticket predicate (src/core/ticket-route.ts): sets `captures.ticket`. */
  ticket?: TicketSpec | undefined;
  action: 'deliver' | 'drop';
  handlers: string[];
}

export interface RouteMatch {
  route: RouteSpec;
  /** The recipient this match is for (null when the route did not look at recipients). */
  recipient: string | null;
  captures: Record<string, string>;
  /** Human-readable account of why this route matched. */
  why: string[];
}

interface Compiled {
  re: RegExp;
  source: string;
}

const cache = new Map<string, Compiled>();

export function compilePattern(p: Pattern): Compiled {
  const hit = cache.get(p);
  if (hit) return hit;
  let re: RegExp;
  const rx = /^\/(.*)\/([a-z]*)$/s.exec(p);
  if (rx) {
    re = new RegExp(rx[1]!, rx[2]!.includes('i') ? rx[2] : `${rx[2]}i`);
  } else {
    let src = '';
    for (const part of p.split(/(\{[A-Za-z_][A-Za-z0-9_]*\}|\*)/)) {
      if (part === '*') src += '.*';
      else if (/^\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(part)) src += `(?<${part.slice(1, -1)}>[^@\\s]+?)`;
      else src += part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
    re = new RegExp(`^${src}$`, 'i');
  }
  const c = { re, source: p };
  cache.set(p, c);
  return c;
}

function testAny(patterns: Pattern | Pattern[], value: string): Record<string, string> | null {
  for (const p of Array.isArray(patterns) ? patterns : [patterns]) {
    const m = compilePattern(p).re.exec(value);
    if (m) return { ...(m.groups ?? {}) };
  }
  return null;
}

/** Recipients to route on: the SMTP envelope when there is one, else Delivered-To/To/Cc headers. */
export function routingRecipients(envelope: Envelope, parsed: ParsedMessage): string[] {
  if (envelope.rcptTo.length) return envelope.rcptTo.map((r) => r.toLowerCase());
  const out = new Set<string>();
  for (const h of ['delivered-to', 'x-original-to']) {
    for (const v of parsed.headers.get(h) ?? []) {
      const m = /<?([^<>\s]+@[^<>\s]+)>?/.exec(v);
      if (m?.[1]) out.add(m[1].toLowerCase());
    }
  }
  for (const a of [...parsed.to, ...parsed.cc]) out.add(a.address.toLowerCase());
  return [...out];
}

function matchNonRecipient(
  route: RouteSpec,
  parsed: ParsedMessage,
  envelope: Envelope,
  cls: Classification,
): string[] | null {
  const why: string[] = [];
  if (route.from) {
    const senders = [envelope.mailFrom ?? '', ...parsed.from.map((f) => f.address)].filter(Boolean);
    const hit = senders.find((s) => testAny(route.from!, s) !== null);
    if (!hit) return null;
    why.push(`from ${hit}`);
  }
  if (route.subject !== undefined) {
    const subj = parsed.subject;
    const rx = /^\/.*\/[a-z]*$/s.test(route.subject);
    const ok = rx
      ? compilePattern(route.subject).re.test(subj)
      : subj.toLowerCase().includes(route.subject.toLowerCase());
    if (!ok) return null;
    why.push(`subject ${route.subject}`);
  }
  for (const [name, p] of Object.entries(route.headers ?? {})) {
    const values = parsed.headers.get(name.toLowerCase()) ?? [];
    if (!values.some((v) => compilePattern(p).re.test(v))) return null;
    why.push(`header ${name}`);
  }
  const w = route.when;
  if (w) {
    if (w.autoReply !== undefined && w.autoReply !== cls.autoReply.autoReply) return null;
    if (w.bounce !== undefined && w.bounce !== cls.bounce.bounce) return null;
    if (w.loop !== undefined && w.loop !== cls.loop.loop) return null;
    why.push(`when ${JSON.stringify(w)}`);
  }
  return why;
}

/**
 * Routes a message. With recipient patterns in play each recipient is routed on its own (first
 * match per recipient); matches are de-duplicated by route and recipient.
 */
export function route(
  routes: readonly RouteSpec[],
  input: {
    envelope: Envelope;
    parsed: ParsedMessage;
    classification: Classification;
    /** Message-ID → ticket map for `ticket` routes' thread rule (synchronous, keeps route pure). */
    lookupThread?: ThreadLookup | undefined;
  },
): RouteMatch[] {
  const recipients = routingRecipients(input.envelope, input.parsed);
  const targets: Array<string | null> = recipients.length ? recipients : [null];
  const matches: RouteMatch[] = [];
  const seen = new Set<string>();
  for (const rcpt of targets) {
    // Ticket routes passed over for want of a ticket, so the route that does match can say why.
    const passed: string[] = [];
    for (const r of routes) {
      let captures: Record<string, string> = {};
      const why: string[] = [];
      if (r.to) {
        if (rcpt === null) continue;
        const c = testAny(r.to, rcpt);
        if (!c) continue;
        captures = c;
        why.push(`to ${rcpt}`);
      }
      const rest = matchNonRecipient(r, input.parsed, input.envelope, input.classification);
      if (!rest) continue;
      why.push(...rest);
      if (r.ticket) {
        const t = matchTicket(r.ticket, {
          recipient: rcpt,
          parsed: input.parsed,
          lookupThread: input.lookupThread,
        });
        if (t.ticket === null && r.ticket.required !== false) {
          passed.push(`not ${r.name}: ${t.why.join('; ')}`);
          continue;
        }
        // The predicate is authoritative: an unverified `{ticket}` pattern capture never leaks through.
        delete captures.ticket;
        if (t.ticket !== null) captures.ticket = t.ticket;
        why.push(...t.why);
      }
      if (!why.length) why.push('catch-all');
      why.unshift(...passed);
      const key = `${r.name}\u0000${r.to ? rcpt : ''}`;
      if (!seen.has(key)) {
        seen.add(key);
        matches.push({ route: r, recipient: r.to ? rcpt : null, captures, why });
      }
      break;
    }
  }
  return matches;
}

/** True when a route matches everything (no predicates): required as the last route. */
export function isCatchAll(r: RouteSpec): boolean {
  return !r.to && !r.from && r.subject === undefined && !r.headers && !r.when && !r.ticket;
}
