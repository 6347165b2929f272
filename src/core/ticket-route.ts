/**
 * The `ticket` route predicate: finds the ticket a reply belongs to by trying rules in order,
 * first hit wins:
 * - `address`: the recipient is an HMAC-signed plus address (`reply+<ticket>.<sig>@domain`, made
 *   by `signReplyAddress`); a signature that does not verify is rejected (the rule misses and the
 *   rejection is reported), so a guessed ticket number in an address attaches to nothing;
 * - `thread`: In-Reply-To, then References (newest first, at most 50), looked up in the map of
 *   Message-IDs the application sent (`Store.lookupThread`);
 * - `subject`: a token such as `[#1234]` in the subject (first capture group = ticket). Anyone can
 *   type a subject, so this rule is only as strong as a guess.
 *
 * Guarantees: pure and synchronous (the thread map is a function the caller passes in), never
 * throws on malformed input, and the result always says which rule decided and why.
 */
import type { ParsedMessage } from './parsed.js';
import { parseReplyAddress, matchSubjectToken } from './reply/ticket.js';

/** A rule of the ticket predicate. */
export type TicketRule = 'address' | 'thread' | 'subject';

/** The `ticket:` key of a route (defaults applied here, so the schema and tests may omit them). */
export interface TicketSpec {
  /** Tried in order; default `[address, thread, subject]`. */
  rules?: readonly TicketRule[] | undefined;
  /** HMAC secret of signed reply addresses (the address rule misses without it). */
  secret?: string | undefined;
  /** Signature length used by `signReplyAddress` (default 16). */
  signatureLength?: number | undefined;
  /** Subject pattern, `/regex/flags` or a bare regex; first capture = ticket. Default `/\[#(\d+)\]/`. */
  subject?: string | undefined;
  /** The route matches only when a ticket was found (default true). */
  required?: boolean | undefined;
}

/** Synchronous Message-ID → ticket lookup (ids without angle brackets, as parsed). */
export type ThreadLookup = (messageId: string) => string | undefined;

/** Outcome of the predicate. */
export interface TicketMatch {
  /** The ticket id, or null when no rule found one. */
  ticket: string | null;
  /** The rule that found it. */
  rule: TicketRule | null;
  /** Entries for the route's `why`: rejections worth knowing, then the decision. */
  why: string[];
}

export const DEFAULT_TICKET_RULES: readonly TicketRule[] = ['address', 'thread', 'subject'];
export const DEFAULT_SUBJECT_PATTERN = '/\\[#(\\d+)\\]/';
const MAX_REFERENCES = 50;

const subjectCache = new Map<string, RegExp>();

/** Compiles a subject pattern (`/re/flags` or a bare regex); stateful flags are dropped. */
export function subjectRegex(pattern: string): RegExp {
  const hit = subjectCache.get(pattern);
  if (hit) return hit;
  const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  const re = m ? new RegExp(m[1]!, m[2]!.replace(/[gy]/g, '')) : new RegExp(pattern);
  subjectCache.set(pattern, re);
  return re;
}

/** `reply+1234.k3jx9…@reply.example.com`: enough to recognise, not enough to reuse. */
function redactSignature(address: string): string {
  return address.replace(/^([^+@]+\+[^.@]+\.)([a-z2-7]{3})[a-z2-7]*@/i, '$1$2…@');
}

interface RuleResult {
  ticket?: string;
  /** Set on a hit, or on a miss worth reporting (a forged signature). */
  note?: string;
  /** Why the rule missed (for the `required: false` account). */
  miss?: string;
}

function byAddress(spec: TicketSpec, recipient: string | null): RuleResult {
  if (recipient === null) return { miss: 'address: no recipient' };
  if (spec.secret === undefined) return { miss: 'address: no secret configured' };
  const opts = spec.signatureLength === undefined ? {} : { length: spec.signatureLength };
  const r = parseReplyAddress(recipient, { secret: spec.secret, ...opts });
  const shown = redactSignature(recipient);
  if (r.valid && r.value !== undefined)
    return { ticket: r.value, note: `ticket ${r.value} from signed address ${shown}` };
  if (r.reason === 'bad signature')
    return { note: `forged signature on ${shown}: rejected`, miss: `address: forged signature` };
  return { miss: `address: ${r.reason}` };
}

function threadIds(parsed: ParsedMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (parsed.inReplyTo) out.push(['In-Reply-To', parsed.inReplyTo]);
  const refs = parsed.references.slice(-MAX_REFERENCES).reverse();
  for (const id of refs) if (id !== parsed.inReplyTo) out.push(['References', id]);
  return out;
}

function byThread(parsed: ParsedMessage, lookup: ThreadLookup | undefined): RuleResult {
  if (!lookup) return { miss: 'thread: no thread map' };
  const ids = threadIds(parsed);
  if (!ids.length) return { miss: 'thread: no In-Reply-To or References' };
  for (const [header, id] of ids) {
    let ticket: string | undefined;
    try {
      ticket = lookup(id);
    } catch {
      return { miss: 'thread: lookup failed' };
    }
    if (ticket !== undefined) return { ticket, note: `ticket ${ticket} from ${header} <${id}>` };
  }
  return { miss: `thread: none of ${ids.length} message ids is known` };
}

function bySubject(spec: TicketSpec, parsed: ParsedMessage): RuleResult {
  let re: RegExp;
  try {
    re = subjectRegex(spec.subject ?? DEFAULT_SUBJECT_PATTERN);
  } catch {
    return { miss: 'subject: invalid pattern' };
  }
  const r = matchSubjectToken(parsed.subject, re);
  if (!r.matched || r.value === undefined) return { miss: `subject: ${r.reason}` };
  return {
    ticket: r.value,
    note: `ticket ${r.value} from ${r.reason.replace(/^subject contains /, 'subject token ')}`,
  };
}

/** Runs the ticket rules in order; the first rule that finds a ticket decides. */
export function matchTicket(
  spec: TicketSpec,
  input: { recipient: string | null; parsed: ParsedMessage; lookupThread?: ThreadLookup | undefined },
): TicketMatch {
  const why: string[] = [];
  const misses: string[] = [];
  for (const rule of spec.rules ?? DEFAULT_TICKET_RULES) {
    const r =
      rule === 'address'
        ? byAddress(spec, input.recipient)
        : rule === 'thread'
          ? byThread(input.parsed, input.lookupThread)
          : bySubject(spec, input.parsed);
    if (r.note !== undefined) why.push(r.note);
    if (r.ticket !== undefined) return { ticket: r.ticket, rule, why };
    if (r.miss !== undefined) misses.push(r.miss);
  }
  why.push(`no ticket (${misses.join('; ')})`);
  return { ticket: null, rule: null, why };
}
