/**
 * Scores stripReply against the expected-output files of /work/shared/corpus/replies (read-only,
 * resolved from the repository root as ../shared/corpus). Only pairs that have an expected-output
 * file are scored; sources whose expectations live in upstream test code are listed with 0 pairs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { stripReply, type StrippedReply } from '../../../../src/core/reply/strip.js';

export const CORPUS = resolve(import.meta.dirname, '../../../../../shared/corpus/replies');

/** One scored pair. */
export interface PairResult {
  source: string;
  name: string;
  ok: boolean;
  method: string;
  got: string;
  want: string;
}

/** Whitespace normalisation used for every comparison: collapse runs, trim. */
export function normalize(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function pair(source: string, name: string, r: StrippedReply, got: string, want: string): PairResult {
  return { source, name, ok: normalize(got) === normalize(want), method: r.method, got, want };
}

/** discourse/email_reply_trimmer: emails/NAME.txt → trimmed/NAME.txt (the reply without quotes/signature). */
function discourse(): PairResult[] {
  const dir = join(CORPUS, 'discourse-email_reply_trimmer');
  return readdirSync(join(dir, 'emails'))
    .filter((f) => existsSync(join(dir, 'trimmed', f)))
    .sort()
    .map((f) => {
      const r = stripReply({ text: read(join(dir, 'emails', f)) });
      return pair('discourse-email_reply_trimmer', f, r, r.text, read(join(dir, 'trimmed', f)));
    });
}

/**
 * mailgun/talon standard replies with a NAME_reply_text file: talon removes the quotation only and
 * keeps the signature, so the comparable output is text + signature.
 */
async function talonReplies(): Promise<PairResult[]> {
  const dir = join(CORPUS, 'mailgun-talon', 'standard_replies');
  const out: PairResult[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.eml')) continue;
    const expected = join(dir, f.replace(/\.eml$/, '_reply_text'));
    if (!existsSync(expected)) continue;
    const mail = await simpleParser(readFileSync(join(dir, f)));
    const r = stripReply({ text: mail.text ?? null, html: typeof mail.html === 'string' ? mail.html : null });
    out.push(pair('mailgun-talon/standard_replies', f, r, `${r.text}\n\n${r.signature}`, read(expected)));
  }
  return out;
}

/** mailgun/talon signature triplets: X_body → X_signature (talon's sender-aware classifier). */
function talonSignatures(): PairResult[] {
  const dir = join(CORPUS, 'mailgun-talon', 'signature', 'emails', 'stripped');
  return readdirSync(dir)
    .filter((f) => f.endsWith('_body') && existsSync(join(dir, f.replace(/_body$/, '_signature'))))
    .sort()
    .map((f) => {
      const r = stripReply({ text: read(join(dir, f)) });
      return pair(
        'mailgun-talon/signature',
        f,
        r,
        r.signature,
        read(join(dir, f.replace(/_body$/, '_signature'))),
      );
    });
}

/** Sources with message files but no expected-output files (expectations are in upstream test code). */
export const UNSCORED = [
  'github-email_reply_parser',
  'crisp-email-reply-parser',
  'willdurand-EmailReplyParser',
];

/** Every scored pair, grouped by source in a stable order. */
export async function scoreCorpus(): Promise<PairResult[]> {
  return [...discourse(), ...(await talonReplies()), ...talonSignatures()];
}

/** Row of the score table. */
export interface ScoreRow {
  source: string;
  pairs: number;
  exact: number;
  rate: number;
}

/** Aggregate pair results per source. */
export function table(results: readonly PairResult[]): ScoreRow[] {
  const rows = new Map<string, ScoreRow>();
  for (const r of results) {
    const row = rows.get(r.source) ?? { source: r.source, pairs: 0, exact: 0, rate: 0 };
    row.pairs++;
    if (r.ok) row.exact++;
    row.rate = row.exact / row.pairs;
    rows.set(r.source, row);
  }
  for (const s of UNSCORED) rows.set(s, { source: s, pairs: 0, exact: 0, rate: Number.NaN });
  return [...rows.values()];
}
