import { describe, expect, it } from 'vitest';
import { createAuthVerifier } from '../../../../src/sources/smtp/auth.js';
import { createRecipientPolicy } from '../../../../src/sources/smtp/recipients.js';
import { IpLimiter } from '../../../../src/sources/smtp/rate-limit.js';
import { dataFailureReply } from '../../../../src/sources/smtp/replies.js';
import { BareLfError } from '../../../../src/sources/smtp/bare-lf.js';
import { SizeLimitError } from '../../../../src/core/errors.js';

describe('recipient policy', () => {
  const accepts = createRecipientPolicy(
    ['Example.TEST.'],
    ['reply+{ticket}@reply.test', '/^ops-\\d+@ops\\.test$/'],
  );
  it.each([
    ['a@example.test', true],
    ['A@EXAMPLE.test.', true],
    ['reply+12@reply.test', true],
    ['ops-7@ops.test', true],
    ['nobody@reply.test', false],
    ['x@elsewhere.test', false],
    ['x@sub.example.test', false],
    ['x%elsewhere.test@example.test', false],
    ['x!elsewhere.test@example.test', false],
    ['@example.test:x@elsewhere.test', false],
    ['noatsign', false],
  ])('%s → %s', (addr, ok) => {
    expect(accepts(addr).ok).toBe(ok);
  });
  it('says 5.1.1 for our pattern domains and 5.7.1 for foreign ones', () => {
    expect(accepts('nobody@reply.test')).toMatchObject({
      responseCode: 550,
      message: expect.stringMatching(/^5\.1\.1/),
    });
    expect(accepts('x@elsewhere.test')).toMatchObject({
      responseCode: 550,
      message: expect.stringMatching(/^5\.7\.1/),
    });
  });
});

describe('auth verifier', () => {
  const verify = createAuthVerifier([
    { user: 'relay', password: 's3cret' },
    { user: 'other', password: 'pw' },
  ]);
  it('accepts exact pairs only', () => {
    expect(verify('relay', 's3cret')).toBe(true);
    expect(verify('other', 'pw')).toBe(true);
    expect(verify('relay', 'pw')).toBe(false);
    expect(verify('relay', 's3cret ')).toBe(false);
    expect(verify('nobody', 's3cret')).toBe(false);
    expect(verify('', '')).toBe(false);
  });
});

describe('ip limiter', () => {
  it('caps concurrent connections per IP and releases', () => {
    const l = new IpLimiter({ maxConcurrent: 2 });
    expect(l.connect('1.1.1.1')).toBe('ok');
    expect(l.connect('1.1.1.1')).toBe('ok');
    expect(l.connect('1.1.1.1')).toBe('concurrency');
    expect(l.connect('2.2.2.2')).toBe('ok');
    l.release('1.1.1.1');
    expect(l.connect('1.1.1.1')).toBe('ok');
  });
  it('counts connections and messages per window', () => {
    let now = 1000;
    const l = new IpLimiter({ perWindow: { max: 3, windowMs: 100 }, now: () => now });
    expect(l.connect('1.1.1.1')).toBe('ok');
    expect(l.message('1.1.1.1')).toBe(true);
    expect(l.message('1.1.1.1')).toBe(true);
    expect(l.message('1.1.1.1')).toBe(false);
    expect(l.connect('1.1.1.1')).toBe('rate');
    expect(l.message('9.9.9.9')).toBe(true);
    now += 100;
    expect(l.message('1.1.1.1')).toBe(true);
  });
});

describe('data failure replies', () => {
  it('maps size to 552, bare LF to 550 5.6.0, anything else to 451', () => {
    expect(dataFailureReply(new SizeLimitError(10)).responseCode).toBe(552);
    expect(dataFailureReply(new BareLfError())).toMatchObject({
      responseCode: 550,
      message: expect.stringMatching(/^5\.6\.0/),
    });
    for (const e of [
      Object.assign(new Error('x'), { code: 'ENOSPC' }),
      new Error('SQLITE_FULL'),
      'weird',
      Object.assign(new Error('x'), { responseCode: 554 }),
    ]) {
      expect(dataFailureReply(e).responseCode).toBe(451);
    }
  });
});
