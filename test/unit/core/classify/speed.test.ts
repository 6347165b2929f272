import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';
import { isParsingMessage, manifest, readCorpus } from './corpus.js';

/**
 * Classify cost on ordinary mail: µs per message over the parsing/ corpus (511 files, up to 3 MB),
 * best of 5 passes after a warm-up. Printed for the record; the assert is a loose ceiling
 * (the pipeline target is 500 msg/s including parsing, i.e. 2 ms a message).
 */
describe('classify speed', () => {
  it('is far below the per-message budget on the parsing corpus', () => {
    const raws = manifest()
      .filter((r) => r.kind === 'parsing' && isParsingMessage(r.path))
      .map((r) => readCorpus(r.path));
    for (const raw of raws) classify(raw);
    let best = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const t0 = performance.now();
      for (const raw of raws) classify(raw);
      best = Math.min(best, performance.now() - t0);
    }
    const us = (best * 1000) / raws.length;
    console.log(`classify: ${us.toFixed(1)} µs/message over ${raws.length} parsing/ messages (best of 5)`);
    expect(us).toBeLessThan(500);
  });
});
