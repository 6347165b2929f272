import { describe, expect, it } from 'vitest';
import { evaluate, exactCount, rates } from './sisimai-eval.js';

/**
 * Floors are the rates actually reached, rounded down to a whole percent: a quality drop fails.
 * Print the table: npx vitest run test/unit/core/classify/sisimai-agreement.test.ts
 * (CLASSIFY_DEBUG=1 also lists the disagreeing rows).
 */
const FLOOR = { recipient: 97, statusClass: 96 };

describe('agreement with go-sisimai expected results', () => {
  it('meets the recipient and status-class floors', () => {
    const results = evaluate();
    const table = rates(results);
    const exact = exactCount(results);
    console.log(
      ['group      rows  recipient%  statusClass%']
        .concat(
          table.map(
            (t) =>
              `${t.group.padEnd(10)} ${String(t.rows).padStart(4)}  ${t.recipient.toFixed(1).padStart(9)}  ${t.statusClass.toFixed(1).padStart(11)}`,
          ),
        )
        .concat([`exact recipient count: ${exact.exact}/${exact.files} files`])
        .join('\n'),
    );
    if (process.env['CLASSIFY_DEBUG']) {
      for (const r of results.filter((x) => !x.recipientOk || !x.classOk)) {
        const rec = r.got.bounce.recipients.map((x) => `${x.recipient}=${x.status ?? '-'}`).join(',');
        console.log(
          `${r.recipientOk ? ' ' : 'R'}${r.classOk ? ' ' : 'S'} ${r.row.file.split('/').pop()}#${r.row.index} want=${r.row.status || r.row.feedbackType} ${r.row.reason} got=${r.got.bounce.bounce}/${r.got.bounce.kind} [${rec}] ${r.got.bounce.reasons.slice(-2).join('; ')}`,
        );
      }
    }
    const all = table[0];
    expect(all?.group).toBe('all');
    expect(all?.recipient ?? 0).toBeGreaterThanOrEqual(FLOOR.recipient);
    expect(all?.statusClass ?? 0).toBeGreaterThanOrEqual(FLOOR.statusClass);
  });
});
