import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../../src/sources/pop3/backoff.js';
import { chooseAuth } from '../../../../src/sources/pop3/options.js';
import {
  DAY_MS,
  disposition,
  joinListing,
  planFetch,
  positionKey,
  uidOfPosition,
} from '../../../../src/sources/pop3/plan.js';

const listed = (sizes: number[]) => sizes.map((size, i) => ({ n: i + 1, uid: `u${i + 1}`, size }));

describe('planFetch', () => {
  it('skips known, quarantines oversize (not counted), honours maxPerRun', () => {
    const p = planFetch(listed([10, 20, 999, 30, 40]), (u) => u === 'u1', {
      maxMessageSize: 100,
      maxPerRun: 2,
    });
    expect(p.fetch.map((m) => m.uid)).toEqual(['u2', 'u4']);
    expect(p.oversize.map((m) => m.uid)).toEqual(['u3']);
    expect(p.deferred).toBe(1);
  });
  it('maxBytesPerRun always lets the first message through, then caps', () => {
    const p = planFetch(listed([50, 50, 10]), () => false, { maxMessageSize: 100, maxBytesPerRun: 40 });
    expect(p.fetch.map((m) => m.uid)).toEqual(['u1']);
    expect(p.deferred).toBe(2);
    const q = planFetch(listed([10, 20, 30]), () => false, { maxMessageSize: 100, maxBytesPerRun: 35 });
    expect(q.fetch.map((m) => m.uid)).toEqual(['u1', 'u2']);
  });
});

describe('disposition', () => {
  const now = 100 * DAY_MS;
  const row = (status: 'delivered' | 'skipped' | 'dead' | 'failed' | 'processing' | 'received', age = 0) => ({
    status,
    receivedAt: now - age,
  });
  it('delivered/skipped → dele unless leaveOnServer; dead → leave; others wait', () => {
    expect(disposition(row('delivered'), false, now)).toBe('dele');
    expect(disposition(row('skipped'), false, now)).toBe('dele');
    expect(disposition(row('delivered'), true, now)).toBe('keep');
    expect(disposition(row('dead'), false, now)).toBe('leave');
    for (const s of ['failed', 'processing', 'received'] as const)
      expect(disposition(row(s), false, now)).toBe('wait');
  });
  it('{ days } deletes strictly after N days since first seen', () => {
    expect(disposition(row('delivered', 3 * DAY_MS), { days: 3 }, now)).toBe('keep');
    expect(disposition(row('delivered', 3 * DAY_MS + 1), { days: 3 }, now)).toBe('dele');
    expect(disposition(row('dead', 30 * DAY_MS), { days: 3 }, now)).toBe('leave');
    expect(disposition(row('delivered', 1), { days: 0 }, now)).toBe('dele');
  });
});

describe('listing and keys', () => {
  it('joins UIDL and LIST by number; round-trips position keys', () => {
    expect(
      joinListing(
        [
          { n: 2, uid: 'b' },
          { n: 1, uid: 'a' },
        ],
        [{ n: 1, size: 5 }],
      ),
    ).toEqual([
      { n: 1, uid: 'a', size: 5 },
      { n: 2, uid: 'b', size: 0 },
    ]);
    expect(uidOfPosition('src', positionKey('src', 'x:y'))).toBe('x:y');
    expect(uidOfPosition('src', 'pop3:other:x')).toBeUndefined();
  });
});

describe('chooseAuth', () => {
  const ts = '+OK ready <1.2@host>';
  const caps = new Map([['SASL', ['PLAIN', 'XOAUTH2']]]);
  it('auto: XOAUTH2 with a token, else USER/PASS', () => {
    expect(chooseAuth({ auth: 'auto', accessToken: 't' }, ts, caps)).toBe('xoauth2');
    expect(chooseAuth({ auth: 'auto', password: 'p' }, ts, caps)).toBe('user');
  });
  it('explicit methods are checked against the server', () => {
    expect(chooseAuth({ auth: 'apop', password: 'p' }, ts, undefined)).toBe('apop');
    expect(() => chooseAuth({ auth: 'apop', password: 'p' }, '+OK ready', undefined)).toThrow(/timestamp/);
    expect(() => chooseAuth({ auth: 'xoauth2', accessToken: 't' }, ts, new Map([['SASL', ['PLAIN']]]))).toThrow(/XOAUTH2/); // prettier-ignore
    expect(chooseAuth({ auth: 'xoauth2', accessToken: 't' }, ts, undefined)).toBe('xoauth2');
    expect(() => chooseAuth({ auth: 'xoauth2', password: 'p' }, ts, caps)).toThrow(/accessToken/);
    expect(() => chooseAuth({ auth: 'user' }, ts, caps)).toThrow(/password/);
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, jitter below the raw delay', () => {
    const p = { baseMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, p, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(2, p, () => 0)).toBe(100);
  });
});
