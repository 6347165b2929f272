import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mboxEntry, splitMbox } from '../../../src/core/mbox.js';

describe('mboxrd', () => {
  it('quotes From_ lines and gives the exact bytes back', () => {
    const a = Buffer.from('Subject: a\n\nFrom me\n>From you\n>>From them\nend\n');
    const b = Buffer.from([0x53, 0x3a, 0x20, 0xe9, 0x0a, 0x0a, 0xff, 0x0d, 0x0a]);
    const mbox = Buffer.concat([mboxEntry(a), mboxEntry(b)]);
    expect(mbox.toString('latin1')).toContain('\n>From me\n>>From you\n>>>From them\n');
    expect(splitMbox(mbox)).toEqual([a, b]);
  });
  it('round-trips any message that ends with a newline', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 5 }), (arrs) => {
        const msgs = arrs.map((u) =>
          Buffer.concat([
            Buffer.from('X: 1\n\n'),
            Buffer.from(u).filter((c) => c !== 10),
            Buffer.from('\nFrom x\n'),
          ]),
        );
        expect(splitMbox(Buffer.concat(msgs.map((m) => mboxEntry(m))))).toEqual(msgs);
      }),
    );
  });
});
