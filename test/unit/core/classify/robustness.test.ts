import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify, MAX_DEEP_BYTES } from '../../../../src/core/classify/index.js';
import type { Classification } from '../../../../src/core/classify/types.js';

/** Shape check: every verdict is present and well-typed whatever the input. */
function wellFormed(c: Classification): void {
  expect(typeof c.autoReply.autoReply).toBe('boolean');
  expect(typeof c.bounce.bounce).toBe('boolean');
  expect(Array.isArray(c.bounce.recipients)).toBe(true);
  expect(typeof c.loop.hops).toBe('number');
}

/** Wall time of one classify call, in ms. */
function timed(raw: Buffer): { c: Classification; ms: number } {
  const t0 = performance.now();
  const c = classify(raw);
  return { c, ms: performance.now() - t0 };
}

const NAMES = [
  'From',
  'To',
  'Subject',
  'Content-Type',
  'Return-Path',
  'Auto-Submitted',
  'X-Failed-Recipients',
  'Precedence',
  'List-Id',
  'X-Mailintake-Loop',
  'Content-Transfer-Encoding',
  'Final-Recipient',
  'Status',
  'Action',
];
const VALUES = [
  'multipart/report; report-type=delivery-status; boundary="b"',
  'multipart/report; report-type=feedback-report; boundary=b',
  'message/delivery-status',
  'MAILER-DAEMON <>',
  '<>',
  'Undelivered Mail Returned to Sender',
  'auto-replied',
  'base64',
  'quoted-printable',
  'rfc822; x@y.example',
  '5.1.1',
  'failed',
  '=?utf-8?B?w6k=?=',
  '=?x?Q?=ZZ?=',
];
const LINE = fc.oneof(
  fc.tuple(fc.constantFrom(...NAMES), fc.constantFrom(...VALUES)).map(([n, v]) => `${n}: ${v}`),
  fc.constantFrom(
    '--b',
    '--b--',
    '',
    ' folded',
    '\t',
    'Content-Type: message/delivery-status',
    'Final-Recipient: rfc822; a@b.example',
    'Status: 4.4.7',
    '<a@b.example>:',
    '550 5.1.1 user unknown',
    '{"notificationType":"Bounce"',
  ),
  fc.string({ maxLength: 80 }),
);
const EOL = fc.constantFrom('\n', '\r\n', '\r');

describe('robustness', () => {
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const { c, ms } = timed(Buffer.from(bytes));
        wellFormed(c);
        expect(ms).toBeLessThan(200);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on header/MIME soup', () => {
    fc.assert(
      fc.property(fc.array(LINE, { maxLength: 120 }), EOL, (lines, eol) => {
        const { c, ms } = timed(Buffer.from(lines.join(eol), 'utf8'));
        wellFormed(c);
        expect(ms).toBeLessThan(200);
      }),
      { numRuns: 500 },
    );
  });

  it('bounds the work on huge suspected bounces', () => {
    const head =
      'From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nContent-Type: multipart/report; boundary=b\n\n';
    const line = '<a@b.example>: 550 5.1.1 unknown ' + 'x'.repeat(60) + '\n';
    const big = Buffer.from(
      head + '--b\nContent-Type: text/plain\n\n' + line.repeat(Math.ceil((MAX_DEEP_BYTES * 2) / line.length)),
    );
    const { c, ms } = timed(big);
    wellFormed(c);
    expect(ms).toBeLessThan(3000);
    const deep = Buffer.from(
      head +
        Array.from({ length: 2000 }, (_, i) => `--b\nContent-Type: multipart/mixed; boundary=b${i}\n\n`).join(
          '',
        ),
    );
    expect(timed(deep).ms).toBeLessThan(3000);
    const longHeader = Buffer.from('Subject: ' + 'a'.repeat(2_000_000) + '\n\nbody');
    expect(timed(longHeader).ms).toBeLessThan(3000);
  });
});
