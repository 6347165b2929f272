/**
 * Which envelope recipients the push listener accepts. Pure: a recipient is accepted when its domain
 * is one of `push.domains` or it matches a recipient pattern (push.recipients plus the routes' `to`).
 * Everything else is refused with 550, so the listener can never be used as a relay. Relay tricks
 * (source routes, `%` and `!` hacks, a second `@`) are refused even for our own domains.
 */
import { compilePattern, type Pattern } from '../../core/router.js';

/** Accept, or refuse with an SMTP reply. */
export type RecipientVerdict = { ok: true } | { ok: false; responseCode: number; message: string };

export type RecipientPolicy = (address: string) => RecipientVerdict;

const normDomain = (d: string): string => d.trim().toLowerCase().replace(/\.$/, '');

/** The literal domain of a glob pattern (`reply+{t}@reply.example.com` → `reply.example.com`). */
function patternDomain(p: Pattern): string | null {
  if (p.startsWith('/')) return null;
  const at = p.lastIndexOf('@');
  if (at < 0) return null;
  const d = p.slice(at + 1);
  return /[*{}]/.test(d) ? null : normDomain(d);
}

export function createRecipientPolicy(
  domains: readonly string[],
  patterns: readonly Pattern[],
): RecipientPolicy {
  const ours = new Set(domains.map(normDomain));
  const compiled = patterns.map((p) => compilePattern(p).re);
  const patternDomains = new Set(patterns.map(patternDomain).filter((d): d is string => d !== null));
  return (address) => {
    const addr = address.trim();
    const at = addr.lastIndexOf('@');
    if (at <= 0 || at === addr.length - 1) {
      return { ok: false, responseCode: 550, message: '5.1.3 Bad recipient address syntax' };
    }
    const local = addr.slice(0, at);
    const domain = normDomain(addr.slice(at + 1));
    if (addr.startsWith('@') || /[%!@]/.test(local) || local.includes(':')) {
      return { ok: false, responseCode: 550, message: '5.7.1 Relaying denied' };
    }
    if (ours.has(domain)) return { ok: true };
    const candidate = `${local}@${domain}`;
    if (compiled.some((re) => re.test(candidate))) return { ok: true };
    if (patternDomains.has(domain)) {
      return { ok: false, responseCode: 550, message: '5.1.1 No such recipient here' };
    }
    return { ok: false, responseCode: 550, message: '5.7.1 Relaying denied' };
  };
}
