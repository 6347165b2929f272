import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';
import { manifest, readCorpus } from './corpus.js';

/**
 * Detection over every bounces/ message (814 files: sisimai bsd/dos/mac/tmp, flanker, mikel-mail,
 * cpython, ...): a report with at least one recipient. Floor = rate reached, rounded down.
 */
const FLOOR_PERCENT = 97;

describe('corpus bounces/: every report is detected', () => {
  it('detects reports with recipients, whatever the line endings', () => {
    const files = manifest()
      .filter((r) => r.kind === 'bounce' && !r.path.endsWith('.tsv'))
      .map((r) => r.path);
    const missed = files.filter((f) => {
      const b = classify(readCorpus(f)).bounce;
      return b.kind === 'none' || b.recipients.length === 0;
    });
    const rate = (100 * (files.length - missed.length)) / files.length;
    console.log(
      `bounces/ detected: ${files.length - missed.length}/${files.length} (${rate.toFixed(1)}%); missed:\n  ${missed.join('\n  ')}`,
    );
    expect(files.length).toBe(814);
    expect(rate).toBeGreaterThanOrEqual(FLOOR_PERCENT);
  });
});
