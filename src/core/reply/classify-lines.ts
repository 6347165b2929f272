/**
 * Per-line classification of a plain-text reply body.
 *
 * Guarantees: linear in the number of lines (each line is looked at with at most a 4-line window),
 * every regex sees at most MAX_LINE characters, and no line is ever dropped or reordered: the output
 * has exactly one entry per input line.
 */
import {
  DELIMITER_RE,
  FENCE_RE,
  HEADER_ANY_RE,
  HEADER_FROM_RE,
  QUOTE_RE,
  isMobileSignature,
  isStrongMobileSignature,
  matchAttribution,
} from './patterns.js';

/** What a line of a reply body is. */
export type LineKind =
  'empty' | 'text' | 'quote' | 'attribution' | 'header' | 'delimiter' | 'mobile-signature';

/** One classified line. */
export interface ClassifiedLine {
  kind: LineKind;
  /** Pattern name for attributions/headers ("on-wrote", "original-message", "header-block"). */
  rule?: string;
  /** For quote lines: the quoted content itself is an attribution ("> On … wrote:"). */
  quotedAttribution?: boolean;
}

/** Longest piece of a line handed to a regex; longer lines are plain text for our purposes. */
export const MAX_LINE = 1000;
const JOIN_WINDOW = 4;
const MAX_JOIN = 500;
const SENTENCE_END_RE = /[^\d\s][.!?]\s*$/;
const OPENER_WORD_RE = /^[\s>*-]*(?:On|At|Le|Am|El|Il|In data|Op|Em|Den|Dnia|Dňa|在|於)\s/i;
// Lines that may start a wrapped attribution: an opener word, a leading date, an address, a year.
const OPENER_RE =
  /^[\s>*-]*(?:On|At|Le|Am|El|Il|In data|Op|Em|Den|Dnia|Dňa|在|於)\s|^\W{0,3}\d|@|\b(?:19|20)\d\d\b/i;

function cap(line: string): string {
  return line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line;
}

/** Try to read an attribution that starts at `i` and ends within the next few lines. */
function attributionSpan(lines: readonly string[], i: number): { end: number; rule: string } | null {
  const first = cap(lines[i] ?? '');
  const single = matchAttribution(first);
  if (single) return { end: i, rule: single };
  // Only a line that can open an attribution, and that does not end a sentence, is joined with the
  // next ones ("On Mon, … Some One <" + "foo@bar.com> wrote:").
  if (!OPENER_RE.test(first) || first.length > MAX_JOIN || SENTENCE_END_RE.test(first)) return null;
  let joined = first.trim();
  let blanks = 0;
  for (let j = i + 1; j < lines.length && j <= i + JOIN_WINDOW; j++) {
    const raw = cap(lines[j] ?? '');
    const next = raw.replace(/^[\s>]+/, '').trim();
    if (next.length === 0) {
      if (++blanks > 1) return null;
      continue;
    }
    // A line that opens an attribution itself ("On Tue, …") starts its own span, not this one.
    if (next.length > 160 || OPENER_WORD_RE.test(raw)) return null;
    joined = `${joined} ${next}`;
    if (joined.length > MAX_JOIN) return null;
    const rule = matchAttribution(joined);
    if (rule) return { end: j, rule };
  }
  return null;
}

/** Length of the inline header block ("From:/Sent:/To:/Subject:") starting at `i`, or 0. */
function headerBlockEnd(lines: readonly string[], i: number): number {
  let headers = 0;
  let sawFrom = false;
  let last = -1;
  let gap = 0;
  for (let j = i; j < lines.length && j < i + 12; j++) {
    const line = cap(lines[j] ?? '');
    if (HEADER_ANY_RE.test(line)) {
      headers++;
      if (HEADER_FROM_RE.test(line)) sawFrom = true;
      last = j;
      gap = 0;
    } else if (line.trim().length === 0 && headers > 0 && gap === 0 && j > i) {
      gap++; // Outlook HTML-to-text sometimes puts blank lines between fields.
    } else if (headers > 0 && gap === 0 && line.length < 120 && j === last + 1) {
      gap++; // a wrapped Subject line
    } else break;
  }
  return headers >= 3 && sawFrom ? last : -1;
}

/** Classify every line of `lines`. */
export function classifyLines(lines: readonly string[]): ClassifiedLine[] {
  const out: ClassifiedLine[] = [];
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = cap(lines[i] ?? '');
    if (FENCE_RE.test(line)) {
      inFence = !inFence;
      out.push({ kind: 'text' });
      continue;
    }
    if (inFence) {
      out.push({ kind: line.trim() ? 'text' : 'empty' });
      continue;
    }
    if (line.trim().length === 0) {
      out.push({ kind: 'empty' });
      continue;
    }
    if (DELIMITER_RE.test(line)) {
      out.push({ kind: 'delimiter' });
      continue;
    }
    if (QUOTE_RE.test(line)) {
      const inner = line.replace(/^[\s>]+/, '');
      const quotedAttribution = /^\s*>/.test(line) && matchAttribution(inner) !== null;
      out.push(quotedAttribution ? { kind: 'quote', quotedAttribution } : { kind: 'quote' });
      continue;
    }
    // Hot path: a long line without any whitespace (base64, URLs, hashes) cannot open an
    // attribution, a header block or a sign-off; skip the pattern lists for it.
    if (line.length >= 20 && !/\s/.test(line.trim())) {
      out.push({ kind: 'text' });
      continue;
    }
    const span = attributionSpan(lines, i);
    if (span) {
      for (let j = i; j <= span.end; j++) out.push({ kind: 'attribution', rule: span.rule });
      i = span.end;
      continue;
    }
    if (HEADER_FROM_RE.test(line) || HEADER_ANY_RE.test(line)) {
      const end = headerBlockEnd(lines, i);
      if (end >= i) {
        for (let j = i; j <= end; j++) out.push({ kind: 'header', rule: 'header-block' });
        i = end;
        continue;
      }
    }
    if (isMobileSignature(line)) {
      out.push(
        isStrongMobileSignature(line)
          ? { kind: 'mobile-signature', rule: 'strong' }
          : { kind: 'mobile-signature' },
      );
      continue;
    }
    out.push({ kind: 'text' });
  }
  return out;
}
