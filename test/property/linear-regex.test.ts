// Regressions (found by bench/hostile-parse.js): normaliseMessageId (intake's content key and the
// parser) and classify's addressesOf used /[^SEP]+@[^SEP]+/, which backtracks quadratically on a long
// run without "@" (a 40 KB Message-ID took 2 s, 1 MB ~20 min, with the event loop blocked: every
// SMTP session and source stalled). Both must be linear and keep their former results.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressesOf } from '../../src/core/classify/arf.js';
import { classify } from '../../src/core/classify/index.js';
import { contentKeyOf, normaliseMessageId } from '../../src/core/message.js';

/** The former implementation, kept here as the reference for equivalence on small inputs. */
function reference(value: string | null): string | null {
  if (!value) return null;
  const m = /<([^<>\s]+)>/.exec(value) ?? /([^\s<>]+@[^\s<>]+)/.exec(value);
  const id = m?.[1];
  if (!id) return null;
  const at = id.lastIndexOf('@');
  return at > 0 ? `${id.slice(0, at)}@${id.slice(at + 1).toLowerCase()}` : id;
}

describe('normaliseMessageId', () => {
  it('matches the former results on random values', () => {
    const alphabet = fc.constantFrom('a', 'B', '@', '<', '>', ' ', '\t', '\u00a0', '.', 'x', '\u00e9');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 40 }), (v) => {
        expect(normaliseMessageId(v)).toBe(reference(v));
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['1 MB without "@"', 'a'.repeat(1 << 20)],
    ['1 MB of "<"', '<'.repeat(1 << 20)],
    ['1 MB of "a@"', 'a@'.repeat(1 << 19)],
    ['1 MB of "@"', '@'.repeat(1 << 20)],
    ['1 MB of "<a"', '<a'.repeat(1 << 19)],
  ])('%s: linear (under 1 s), also through contentKeyOf', (_n, v) => {
    const t0 = performance.now();
    normaliseMessageId(v);
    contentKeyOf(Buffer.from(`Message-ID: ${v}\r\n\r\nbody`, 'latin1'));
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

function referenceAddresses(value: string | null): string[] {
  if (!value) return [];
  return [...value.matchAll(/[^\s<>"',;:()[\]]+@[^\s<>"',;:()[\]]+/g)].map((m) => m[0]);
}

describe('classify addressesOf', () => {
  it('matches the former results on random values', () => {
    const alphabet = fc.constantFrom('a', '@', '<', '>', ' ', ',', ';', ':', '"', "'", '(', ')', '[', ']', 'x', '.'); // prettier-ignore
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 40 }), (v) => {
        expect(addressesOf(v)).toEqual(referenceAddresses(v));
      }),
      { numRuns: 20_000 },
    );
  });

  it('512 KB To/Original-Recipient values without "@" classify in under 1 s', () => {
    const v = 'a'.repeat(512 * 1024);
    const raw = Buffer.from(
      `From: MAILER-DAEMON@x.test\r\nTo: ${v}\r\nSubject: Undelivered Mail Returned to Sender\r\n` +
        `Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n--b\r\n` +
        `Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nOriginal-Rcpt-To: ${v}\r\n--b--\r\n`,
      'latin1',
    );
    const t0 = performance.now();
    addressesOf(v);
    classify(raw);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
