/**
 * Agreement of classify() with go-sisimai's expected results (bounces/.../expected-go-sisimai.tsv).
 *
 * The TSV has no recipient address, only its 1-based index, so per row:
 * - recipient agrees when the report is detected (bounce=true; kind 'arf' for `feedback` rows;
 *   a DSN/notification with bounce=false for `delivered` rows) and we found at least
 *   recipient_index recipients (each a syntactically valid address);
 * - status class agrees when recipients[index-1].status has the same first digit as
 *   delivery_status (sisimai's x.0.9xx pseudo codes keep their class). `feedback` rows have no
 *   status: they agree when kind is 'arf' and feedbackType equals the TSV feedback_type.
 *   `delivered` rows (class 2) agree when bounce=false and the recipient's status is 2.x.x.
 * A stricter side metric, exact recipient count, compares our count with the file's row count.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classify } from '../../../../src/core/classify/index.js';
import type { Classification } from '../../../../src/core/classify/types.js';
import { CORPUS } from './corpus.js';

export interface Row {
  file: string;
  index: number;
  status: string;
  reason: string;
  feedbackType: string;
}

export interface RowResult {
  row: Row;
  group: string;
  recipientOk: boolean;
  classOk: boolean;
  got: Classification;
}

export function readRows(): Row[] {
  const lines = readFileSync(
    path.join(CORPUS, 'bounces/sisimai-set-of-emails/expected-go-sisimai.tsv'),
    'utf8',
  ).split('\n');
  return lines
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const c = l.split('\t');
      return {
        file: c[0] ?? '',
        index: Number(c[1]),
        status: c[2] ?? '',
        reason: c[4] ?? '',
        feedbackType: c[6] ?? '',
      };
    });
}

export function groupOf(file: string): string {
  const base = path.basename(file);
  return /^(lhost|rhost|rfc3464|arf)-/.exec(base)?.[1] ?? 'other';
}

const VALID = /^[^\s@<>]+@[^\s@<>]+\.[a-z0-9-]+$/i;

export function judge(row: Row, got: Classification): { recipientOk: boolean; classOk: boolean } {
  const b = got.bounce;
  const enough =
    b.recipients.length >= row.index &&
    b.recipients.slice(0, row.index).every((r) => VALID.test(r.recipient));
  const r = b.recipients[row.index - 1];
  const cls = r?.status?.[0] ?? null;
  if (row.reason === 'feedback') {
    const arf = b.bounce && b.kind === 'arf';
    return { recipientOk: arf && enough, classOk: arf && b.feedbackType === row.feedbackType };
  }
  if (row.reason === 'delivered') {
    const report = !b.bounce && b.kind !== 'none';
    return { recipientOk: report && enough, classOk: report && cls === '2' };
  }
  return { recipientOk: b.bounce && enough, classOk: b.bounce && cls !== null && cls === row.status[0] };
}

export function evaluate(): RowResult[] {
  const cache = new Map<string, Classification>();
  return readRows().map((row) => {
    let got = cache.get(row.file);
    if (!got) {
      got = classify(readFileSync(path.join(CORPUS, row.file)));
      cache.set(row.file, got);
    }
    return { row, group: groupOf(row.file), got, ...judge(row, got) };
  });
}

export interface Rate {
  group: string;
  rows: number;
  recipient: number;
  statusClass: number;
}

export function rates(results: readonly RowResult[]): Rate[] {
  const groups = ['all', ...new Set(results.map((r) => r.group))];
  return groups.map((group) => {
    const rs = results.filter((r) => group === 'all' || r.group === group);
    const pct = (n: number): number => (rs.length === 0 ? 0 : (100 * n) / rs.length);
    return {
      group,
      rows: rs.length,
      recipient: pct(rs.filter((r) => r.recipientOk).length),
      statusClass: pct(rs.filter((r) => r.classOk).length),
    };
  });
}

/** Files whose recipient count equals their TSV row count (strict side metric). */
export function exactCount(results: readonly RowResult[]): { files: number; exact: number } {
  const byFile = new Map<string, { rows: number; got: number }>();
  for (const r of results) {
    const e = byFile.get(r.row.file) ?? { rows: 0, got: r.got.bounce.recipients.length };
    e.rows++;
    byFile.set(r.row.file, e);
  }
  let exact = 0;
  for (const e of byFile.values()) if (e.rows === e.got) exact++;
  return { files: byFile.size, exact };
}
