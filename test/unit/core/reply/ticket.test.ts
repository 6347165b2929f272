import { describe, expect, it } from 'vitest';
import {
  matchSubjectToken,
  matchThread,
  parseReplyAddress,
  signReplyAddress,
} from '../../../../src/core/reply/ticket.js';

const secret = 'test-secret';
const base = { local: 'reply', tag: '1234', domain: 'reply.example.com', secret };

describe('signed reply addresses', () => {
  it('round-trips and validates', () => {
    const addr = signReplyAddress(base);
    expect(addr).toMatch(/^reply\+1234\.[a-z2-7]{16}@reply\.example\.com$/);
    const r = parseReplyAddress(`"Support" <${addr}>`, {
      secret,
      local: 'reply',
      domain: 'reply.example.com',
    });
    expect(r).toMatchObject({
      matched: true,
      valid: true,
      tag: '1234',
      value: '1234',
      reason: 'signature valid',
    });
    expect(parseReplyAddress(addr.toUpperCase(), { secret }).valid).toBe(true);
  });

  it('rejects forged tags, modified or truncated signatures, and a wrong secret', () => {
    const addr = signReplyAddress(base);
    const sig = /\.([a-z2-7]+)@/.exec(addr)?.[1] ?? '';
    const forgedTag = addr.replace('+1234.', '+1235.');
    const flipped = addr.replace(`.${sig}@`, `.${sig.slice(0, -1)}${sig.endsWith('a') ? 'b' : 'a'}@`);
    const truncated = addr.replace(`.${sig}@`, `.${sig.slice(0, 8)}@`);
    for (const a of [forgedTag, flipped, truncated]) {
      expect(parseReplyAddress(a, { secret })).toMatchObject({
        valid: false,
        matched: false,
        reason: 'bad signature',
      });
    }
    expect(parseReplyAddress(addr, { secret: 'other' }).valid).toBe(false);
    expect(parseReplyAddress(addr.replace('reply.example.com', 'evil.example.com'), { secret }).valid).toBe(
      false,
    );
  });

  it('explains non-matches', () => {
    const addr = signReplyAddress({ ...base, length: 10 });
    expect(parseReplyAddress(addr, { secret, length: 10 }).valid).toBe(true);
    expect(parseReplyAddress(addr, {})).toMatchObject({
      valid: false,
      tag: '1234',
      reason: expect.stringMatching(/no secret/),
    });
    expect(parseReplyAddress(addr, { secret, domain: 'other.com' }).reason).toMatch(/domain/);
    expect(parseReplyAddress(addr, { secret, local: 'support' }).reason).toMatch(/local part/);
    expect(parseReplyAddress('someone@example.com', { secret }).reason).toBe('not a signed reply address');
    expect(() => signReplyAddress({ ...base, tag: 'a.b' })).toThrow(TypeError);
  });
});

describe('matchSubjectToken', () => {
  it('finds the default [#123] token or a custom one', () => {
    expect(matchSubjectToken('Re: Printer broken [#4711]')).toMatchObject({ matched: true, value: '4711' });
    expect(matchSubjectToken('Re: hello')).toMatchObject({ matched: false, rule: 'subject-token' });
    expect(matchSubjectToken(null).matched).toBe(false);
    expect(matchSubjectToken('AW: Ticket T-99 update', /\bT-(\d+)\b/).value).toBe('99');
  });
});

describe('matchThread', () => {
  const known: Record<string, string> = { '<a@x>': 'T1', '<c@x>': 'T3' };
  it('prefers In-Reply-To, then the newest References', async () => {
    expect(await matchThread({ inReplyTo: '<a@x>', references: '<c@x>' }, (id) => known[id])).toMatchObject({
      matched: true,
      value: 'T1',
      rule: 'in-reply-to',
    });
    const viaRefs = await matchThread(
      { inReplyTo: '<z@x>', references: ['<a@x>', '<c@x>'] },
      async (id) => known[id],
    );
    expect(viaRefs).toMatchObject({ matched: true, value: 'T3', rule: 'references' });
  });
  it('reports when nothing matches', async () => {
    expect((await matchThread({}, () => undefined)).reason).toMatch(/no In-Reply-To/);
    expect(await matchThread({ references: '<q@x> <r@x>' }, () => undefined)).toMatchObject({
      matched: false,
      rule: 'thread',
    });
  });
});
