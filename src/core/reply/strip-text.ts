/**
 * Plain-text reply stripping: decide, from classified lines, which lines are the new reply, which
 * are the sender's signature and which are quoted history.
 *
 * Guarantees: every input line ends up in exactly one of text/signature/quoted, in input order, so
 * `text` is always a subsequence of the input lines; runs in time linear in the number of lines.
 */
import { classifyLines, type ClassifiedLine, type LineKind } from './classify-lines.js';

type Role = 'text' | 'quoted' | 'signature';

/** Result of stripping a plain-text body (see StrippedReply in strip.ts). */
export interface TextStrip {
  text: string;
  quoted: string;
  signature: string;
  method: string;
}

/** A text tail after a quoted block longer than this is an inline answer, not a trailer. */
const TAIL_LINES = 3;
const TAIL_CHARS = 200;

const HARD_STOP: ReadonlySet<LineKind> = new Set(['attribution', 'header', 'delimiter', 'mobile-signature']);

function kindAt(k: readonly ClassifiedLine[], i: number): LineKind | undefined {
  return k[i]?.kind;
}

function skipEmpty(k: readonly ClassifiedLine[], i: number): number {
  while (i < k.length && kindAt(k, i) === 'empty') i++;
  return i;
}

/** Index after a run of lines whose kind is in `kinds`. */
function skipKinds(k: readonly ClassifiedLine[], i: number, kinds: ReadonlySet<LineKind>): number {
  while (i < k.length && kinds.has(kindAt(k, i) as LineKind)) i++;
  return i;
}

const QUOTE_BLOCK: ReadonlySet<LineKind> = new Set(['quote', 'empty']);
const LEADING_HISTORY: ReadonlySet<LineKind> = new Set(['attribution', 'header', 'quote', 'empty']);

/**
 * After an attribution at `b` that follows some reply text: is the quote below it answered inline
 * (quote, answer, quote, …) rather than being the quoted history of a top-posted reply?
 */
function isInlineAnswer(lines: readonly string[], k: readonly ClassifiedLine[], afterB: number): boolean {
  let i = skipEmpty(k, afterB);
  if (kindAt(k, i) !== 'quote') return false;
  i = skipKinds(k, i, QUOTE_BLOCK);
  let textLines = 0;
  let chars = 0;
  for (; i < k.length; i++) {
    const kind = kindAt(k, i) as LineKind;
    if (HARD_STOP.has(kind)) break;
    if (kind === 'quote' && textLines > 0) return true; // a second quote after an answer
    if (kind === 'text') {
      textLines++;
      chars += (lines[i] ?? '').trim().length;
    }
  }
  return textLines >= TAIL_LINES || chars > TAIL_CHARS;
}

/** First index in `from..` at which a signature stops and quoted history starts. */
function signatureEnd(k: readonly ClassifiedLine[], from: number): number {
  for (let i = from; i < k.length; i++) {
    const kind = kindAt(k, i);
    if (kind === 'attribution' || kind === 'header' || kind === 'quote') return i;
  }
  return k.length;
}

function hasTextAfter(k: readonly ClassifiedLine[], from: number): boolean {
  for (let i = from; i < k.length; i++) {
    const kind = kindAt(k, i) as LineKind;
    if (kind === 'text') return true;
    if (kind === 'attribution' || kind === 'header' || kind === 'quote' || kind === 'delimiter') return false;
  }
  return false;
}

function join(lines: readonly string[], roles: readonly Role[], role: Role): string {
  const picked: string[] = [];
  for (let i = 0; i < lines.length; i++) if (roles[i] === role) picked.push(lines[i] ?? '');
  return picked
    .join('\n')
    .replace(/^(?:[ \t]*\n)+/, '')
    .trimEnd();
}

/** Strip quoted history and signature from a plain-text reply body. */
export function stripText(body: string): TextStrip {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const k = classifyLines(lines);
  const roles: Role[] = lines.map(() => 'text');
  let method = 'none';
  const mark = (from: number, to: number, role: Role): void => {
    for (let i = from; i < to; i++) roles[i] = role;
  };

  // 1. Bottom-posting: the message opens with an attribution (or forward header) and its quote.
  let start = skipEmpty(k, 0);
  let sawHistory = false;
  while (
    start < k.length &&
    (kindAt(k, start) === 'attribution' ||
      kindAt(k, start) === 'header' ||
      (kindAt(k, start) === 'quote' && k[start]?.quotedAttribution === true))
  ) {
    const end = skipKinds(k, start, LEADING_HISTORY);
    if (method === 'none') method = `leading-quote:${k[start]?.rule ?? 'quoted-attribution'}`;
    mark(start, end, 'quoted');
    sawHistory = true;
    start = skipEmpty(k, end);
  }

  // 2. Walk the rest until the first cut.
  let seenText = false;
  for (let i = start; i < k.length; i++) {
    const c = k[i] as ClassifiedLine;
    if (c.kind === 'text') {
      seenText = true;
      continue;
    }
    if (c.kind === 'delimiter' && seenText) {
      const next = kindAt(k, skipEmpty(k, i + 1));
      if (next === 'attribution' || next === 'header') {
        mark(i, k.length, 'quoted');
        method = `separator:${k[skipEmpty(k, i + 1)]?.rule ?? ''}`;
      } else {
        const end = signatureEnd(k, i + 1);
        mark(i, end, 'signature');
        mark(end, k.length, 'quoted');
        method = /^\s*--\s*$/.test(lines[i] ?? '') ? 'signature-delimiter' : 'delimiter';
      }
      break;
    }
    if (c.kind === 'mobile-signature' && seenText && (c.rule === 'strong' || !hasTextAfter(k, i + 1))) {
      const end = signatureEnd(k, i + 1);
      mark(i, end, 'signature');
      mark(end, k.length, 'quoted');
      method = 'mobile-signature';
      break;
    }
    if (c.kind === 'attribution' || c.kind === 'header') {
      let afterB = i;
      while (afterB < k.length && kindAt(k, afterB) === c.kind) afterB++;
      if (seenText && !(c.kind === 'attribution' && isInlineAnswer(lines, k, afterB))) {
        mark(i, k.length, 'quoted');
        method = c.rule ?? c.kind;
        break;
      }
      // An inline answer follows (or nothing was written yet): drop only the attribution line(s).
      mark(i, afterB, 'quoted');
      sawHistory = true;
      if (method === 'none') method = `inline:${c.rule ?? c.kind}`;
      i = afterB - 1;
    }
  }

  // 3. Quoted lines after the last line of reply text are history, not context.
  let lastText = -1;
  for (let i = 0; i < k.length; i++) if (roles[i] === 'text' && kindAt(k, i) === 'text') lastText = i;
  if (lastText >= 0) {
    for (let i = lastText + 1; i < k.length; i++) {
      if (roles[i] === 'text') {
        if (kindAt(k, i) === 'quote' && method === 'none') method = 'trailing-quote';
        roles[i] = 'quoted';
      }
    }
  } else if (sawHistory || k.some((c) => c.quotedAttribution === true)) {
    // Nothing but quoted history: the reply is empty.
    for (let i = 0; i < k.length; i++) {
      if (roles[i] === 'text' && kindAt(k, i) !== 'mobile-signature') roles[i] = 'quoted';
    }
    if (method === 'none') method = 'quote-only';
  }

  return {
    text: join(lines, roles, 'text'),
    signature: join(lines, roles, 'signature'),
    quoted: join(lines, roles, 'quoted'),
    method,
  };
}
