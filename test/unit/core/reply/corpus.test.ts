/**
 * Exact-match rate of stripReply on the reply corpus, per source, after whitespace normalisation.
 * Prints the table and the failing pairs; the floors are the measured rates rounded down, so any
 * quality drop fails the suite.
 */
import { describe, expect, it } from 'vitest';
import { normalize, scoreCorpus, table, type ScoreRow } from './corpus-score.js';

/** Measured floors (percent, rounded down). Raise them when the stripper improves. */
const FLOORS: Record<string, number> = {
  'discourse-email_reply_trimmer': 100,
  'mailgun-talon/standard_replies': 100,
  'mailgun-talon/signature': 33,
};
const OVERALL_REPLY_TEXT_FLOOR = 100;

function pct(row: Pick<ScoreRow, 'rate'>): string {
  return Number.isNaN(row.rate) ? 'n/a' : `${(row.rate * 100).toFixed(1)}%`;
}

describe('stripReply on the reply corpus', () => {
  it('meets the measured exact-match floors', async () => {
    const results = await scoreCorpus();
    const rows = table(results);
    const replyText = results.filter((r) => r.source !== 'mailgun-talon/signature');
    const overallText = replyText.filter((r) => r.ok).length / replyText.length;
    const overallAll = results.filter((r) => r.ok).length / results.length;
    const lines = rows.map(
      (r) =>
        `${r.source.padEnd(32)} ${String(r.pairs).padStart(5)} ${String(r.exact).padStart(5)} ${pct(r).padStart(7)}`,
    );
    console.log(
      [
        `${'source'.padEnd(32)} ${'pairs'.padStart(5)} ${'exact'.padStart(5)} ${'rate'.padStart(7)}`,
        ...lines,
        `${'overall (reply text)'.padEnd(32)} ${String(replyText.length).padStart(5)} ${String(replyText.filter((r) => r.ok).length).padStart(5)} ${pct({ rate: overallText }).padStart(7)}`,
        `${'overall (all scored pairs)'.padEnd(32)} ${String(results.length).padStart(5)} ${String(results.filter((r) => r.ok).length).padStart(5)} ${pct({ rate: overallAll }).padStart(7)}`,
        '',
        ...results
          .filter((r) => !r.ok)
          .map(
            (r) =>
              `FAIL ${r.source}/${r.name} [${r.method}]\n  got:  ${normalize(r.got).slice(0, 240)}\n  want: ${normalize(r.want).slice(0, 240)}`,
          ),
      ].join('\n'),
    );
    for (const row of rows) {
      const floor = FLOORS[row.source];
      if (floor !== undefined) expect(row.rate * 100, row.source).toBeGreaterThanOrEqual(floor);
    }
    expect(overallText * 100).toBeGreaterThanOrEqual(OVERALL_REPLY_TEXT_FLOOR);
  });
});
