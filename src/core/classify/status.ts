/**
 * SMTP status helpers shared by the DSN and heuristic parsers: find RFC 3463 enhanced codes and
 * RFC 5321 reply codes in free text, and decide hard/soft. Pure functions.
 */

/** `5.1.1` not preceded/followed by digits or dots (so IP addresses do not match). */
const ENHANCED = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/g;
/** `550 ` / `550-` / ` :421,` reply code at a word start (not a time such as `12:45`). */
const REPLY = /(?<![\w.\-/=#]|\d:)([245][0-5]\d)(?=[ ,;-]|\s*$)/gm;

/** First match of `re` in `text`, preferring a failure (4xx/5xx) over a success code. */
function firstFailure(re: RegExp, text: string, format: (m: RegExpExecArray) => string): string | null {
  re.lastIndex = 0;
  let first: string | null = null;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(text)) !== null && n++ < 200) {
    const code = format(m);
    if (code[0] !== '2') return code;
    first ??= code;
  }
  return first;
}

export function findEnhanced(text: string): string | null {
  return firstFailure(ENHANCED, text, (m) => `${m[1]}.${m[2]}.${m[3]}`);
}

export function findReplyCode(text: string): string | null {
  return firstFailure(REPLY, text, (m) => m[1] ?? '');
}

/** Queue-expiry wording: the underlying failures were temporary (RFC 3463 X.4.7). */
export const EXPIRED_TEXT =
  /retry timeout exceeded|retry time not reached|message expired|too long in (?:the )?queue|delivery time expired|message timed out/i;

/** The status class digit ('2' | '4' | '5') of a status or reply code, or null. */
export function statusClass(code: string | null): '2' | '4' | '5' | null {
  const c = code?.[0];
  return c === '2' || c === '4' || c === '5' ? c : null;
}

/**
 * Best enhanced status for a recipient: an explicit DSN Status unless it is generic (x.0.0) and the
 * diagnostic has a more specific code of the same class; else the diagnostic's code; else a class
 * derived from the reply code (`5.0.0`).
 */
export function resolveStatus(
  status: string | null,
  diagnostic: string | null,
  replyCode: string | null,
): string | null {
  const explicit = status ? findEnhanced(status) : null;
  const fromDiag = diagnostic ? findEnhanced(diagnostic) : null;
  if (explicit) {
    // A generic x.0.0, or a class the remote server's own reply contradicts: trust the diagnostic.
    if (
      fromDiag &&
      ((/\.0\.0$/.test(explicit) && fromDiag[0] === explicit[0]) ||
        (fromDiag[0] !== explicit[0] && fromDiag[0] !== '2'))
    )
      return fromDiag;
    return explicit;
  }
  if (fromDiag) return fromDiag;
  const cls = statusClass(replyCode);
  return cls ? `${cls}.0.0` : null;
}

/** Text phrases meaning "still retrying" (a delay warning, not a final failure). */
export const TRANSIENT_TEXT =
  /\b(?:will (?:continue|keep) (?:to )?try|still (?:trying|being retried)|will be retried|has not yet been delivered|not (?:yet )?been delivered yet|delivery (?:has been )?delayed|temporar(?:y|ily) (?:failure|error|unavailable|deferred)|deferred|warning: (?:message|could not send)|this is a warning only)\b/i;
