import { describe, expect, it } from 'vitest';
import type { Classification } from '../../../src/core/classify/types.js';
import type { ParsedMessage } from '../../../src/core/parsed.js';
import { signReplyAddress } from '../../../src/core/reply/ticket.js';
import { isCatchAll, route, type RouteSpec } from '../../../src/core/router.js';
import { matchTicket, subjectRegex, type TicketSpec } from '../../../src/core/ticket-route.js';
import { validateConfig } from '../../../src/config/load.js';
import { classification, parsedMessage } from '../../helpers/fixtures.js';

const SECRET = 'route-secret';
const DOMAIN = 'reply.example.com';
const signed = (tag: string, secret = SECRET) =>
  signReplyAddress({ local: 'reply', tag, domain: DOMAIN, secret });
const forged = (tag: string) => signed(tag, 'not-the-secret');

const parsed = parsedMessage;
const cls: Classification = classification();

const threads = new Map([
  ['n-77@app.example', '77'],
  ['n-78@app.example', '78'],
]);
const lookup = (id: string) => threads.get(id);
const spec: TicketSpec = { secret: SECRET };

describe('matchTicket rules', () => {
  it('address: a signed reply address gives its tag; the why shows a shortened signature', () => {
    const addr = signed('1234');
    const t = matchTicket(spec, { recipient: addr, parsed: parsed(), lookupThread: lookup });
    expect(t.ticket).toBe('1234');
    expect(t.rule).toBe('address');
    expect(t.why).toEqual([`ticket 1234 from signed address reply+1234.${addr.slice(11, 14)}…@${DOMAIN}`]);
    expect(t.why[0]).not.toContain(addr.split('@')[0]!.slice(11));
  });

  it('address: a forged signature is rejected and reported; unsigned and secretless miss quietly', () => {
    const f = matchTicket({ ...spec, rules: ['address'] }, { recipient: forged('1234'), parsed: parsed() });
    expect(f.ticket).toBeNull();
    expect(f.why[0]).toMatch(/^forged signature on reply\+1234\.[a-z2-7]{3}…@reply\.example\.com: rejected$/);
    expect(f.why[1]).toBe('no ticket (address: forged signature)');
    const u = matchTicket(
      { ...spec, rules: ['address'] },
      { recipient: `reply+1234@${DOMAIN}`, parsed: parsed() },
    );
    expect(u).toEqual({ ticket: null, rule: null, why: ['no ticket (address: not a signed reply address)'] });
    const n = matchTicket({ rules: ['address'] }, { recipient: signed('1234'), parsed: parsed() });
    expect(n.why).toEqual(['no ticket (address: no secret configured)']);
    const r = matchTicket({ ...spec, rules: ['address'] }, { recipient: null, parsed: parsed() });
    expect(r.why).toEqual(['no ticket (address: no recipient)']);
  });

  it('address: a different signature length must be configured', () => {
    const addr = signReplyAddress({ local: 'reply', tag: '9', domain: DOMAIN, secret: SECRET, length: 24 });
    expect(matchTicket(spec, { recipient: addr, parsed: parsed() }).ticket).toBeNull();
    expect(matchTicket({ ...spec, signatureLength: 24 }, { recipient: addr, parsed: parsed() }).ticket).toBe(
      '9',
    );
  });

  it('thread: In-Reply-To first, then References newest first', () => {
    const t = matchTicket(spec, {
      recipient: `reply@${DOMAIN}`,
      parsed: parsed({ inReplyTo: 'n-77@app.example', references: ['n-78@app.example'] }),
      lookupThread: lookup,
    });
    expect(t).toEqual({
      ticket: '77',
      rule: 'thread',
      why: ['ticket 77 from In-Reply-To <n-77@app.example>'],
    });
    const r = matchTicket(spec, {
      recipient: null,
      parsed: parsed({
        inReplyTo: 'x@elsewhere',
        references: ['n-77@app.example', 'n-78@app.example', 'y@z'],
      }),
      lookupThread: lookup,
    });
    expect(r.ticket).toBe('78');
    expect(r.why).toEqual(['ticket 78 from References <n-78@app.example>']);
  });

  it('thread: unknown ids, no headers, no map, a throwing map all miss', () => {
    const p = parsed({ inReplyTo: 'x@elsewhere' });
    const only = { ...spec, rules: ['thread'] as const };
    expect(matchTicket(only, { recipient: null, parsed: p, lookupThread: lookup }).why).toEqual([
      'no ticket (thread: none of 1 message ids is known)',
    ]);
    expect(matchTicket(only, { recipient: null, parsed: parsed(), lookupThread: lookup }).why).toEqual([
      'no ticket (thread: no In-Reply-To or References)',
    ]);
    expect(matchTicket(only, { recipient: null, parsed: p }).why).toEqual([
      'no ticket (thread: no thread map)',
    ]);
    const boom = () => {
      throw new Error('db gone');
    };
    expect(matchTicket(only, { recipient: null, parsed: p, lookupThread: boom }).why).toEqual([
      'no ticket (thread: lookup failed)',
    ]);
  });

  it('subject: default [#n] token, custom pattern (first capture), invalid pattern misses', () => {
    const s = matchTicket(
      { rules: ['subject'] },
      { recipient: null, parsed: parsed({ subject: 'Re: [#42] x' }) },
    );
    expect(s).toEqual({ ticket: '42', rule: 'subject', why: ['ticket 42 from subject token [#42]'] });
    const c = matchTicket(
      { rules: ['subject'], subject: '/ticket (T-\\d+)/i' },
      { recipient: null, parsed: parsed({ subject: 'AW: Ticket T-9 open' }) },
    );
    expect(c.ticket).toBe('T-9');
    expect(
      matchTicket({ rules: ['subject'], subject: '(' }, { recipient: null, parsed: parsed() }).why,
    ).toEqual(['no ticket (subject: invalid pattern)']);
    expect(subjectRegex('/a/gy').flags).toBe('');
  });

  it('rules run in the configured order; first hit wins; a forge note survives a later hit', () => {
    const p = parsed({ subject: 'Re: [#5] x', inReplyTo: 'n-77@app.example' });
    const input = { recipient: forged('1234'), parsed: p, lookupThread: lookup };
    const a = matchTicket(spec, input);
    expect(a.ticket).toBe('77');
    expect(a.why).toHaveLength(2);
    expect(a.why[0]).toMatch(/^forged signature on .*: rejected$/);
    expect(a.why[1]).toBe('ticket 77 from In-Reply-To <n-77@app.example>');
    expect(matchTicket({ ...spec, rules: ['subject', 'thread', 'address'] }, input).ticket).toBe('5');
    const good = { ...input, recipient: signed('1234') };
    expect(matchTicket({ ...spec, rules: ['thread', 'address'] }, good).ticket).toBe('77');
    expect(matchTicket(spec, good).ticket).toBe('1234');
  });
});

describe('ticket routes', () => {
  const r = (x: Partial<RouteSpec> & { name: string }): RouteSpec => ({
    action: 'deliver',
    handlers: ['h'],
    ...x,
  });
  const routes: RouteSpec[] = [
    r({ name: 'tickets', to: 'reply+{tag}@reply.example.com', ticket: { secret: SECRET } }),
    r({ name: 'rest' }),
  ];
  const go = (rcpt: string, p: Partial<ParsedMessage> = {}, rs = routes) =>
    route(rs, {
      envelope: { mailFrom: null, rcptTo: [rcpt] },
      parsed: parsed(p),
      classification: cls,
      lookupThread: lookup,
    })[0]!;

  it('adds captures.ticket and the why; keeps other captures', () => {
    const addr = signed('1234');
    const m = go(addr);
    expect(m.route.name).toBe('tickets');
    expect(m.captures).toEqual({ tag: addr.slice(6, addr.indexOf('@')), ticket: '1234' });
    expect(m.why[0]).toBe(`to ${addr}`);
    expect(m.why[1]).toMatch(/^ticket 1234 from signed address /);
  });

  it('required (default): no ticket → the route does not match and the next one does', () => {
    const m = go(forged('1234'));
    expect(m.route.name).toBe('rest');
    expect(m.captures).toEqual({});
    // the route that does match says which ticket route passed the message over, and why
    expect(m.why).toHaveLength(2);
    expect(m.why[0]).toMatch(
      /^not tickets: forged signature on reply\+1234\.[a-z2-7]{3}…@reply\.example\.com: rejected; no ticket \(address: forged signature; /,
    );
    expect(m.why[1]).toBe('catch-all');
  });

  it('required false: matches without a ticket and says why', () => {
    const rs = [
      r({ name: 't', to: 'reply+{ticket}@reply.example.com', ticket: { secret: SECRET, required: false } }),
      ...routes,
    ];
    const m = go(forged('1234'), {}, rs);
    expect(m.route.name).toBe('t');
    // the unverified pattern capture named "ticket" is not passed on
    expect(m.captures).toEqual({});
    expect(m.why.at(-1)).toBe(
      'no ticket (address: forged signature; thread: no In-Reply-To or References; subject: no \\[#(\\d+)\\] in subject)',
    );
    expect(go(signed('88'), {}, rs).captures).toEqual({ ticket: '88' });
  });

  it('a route with only a ticket predicate is not a catch-all', () => {
    expect(isCatchAll(r({ name: 'x', ticket: {} }))).toBe(false);
  });
});

describe('ticket config', () => {
  const base = (ticket: unknown) => ({
    routes: [
      { name: 't', to: 'reply+{tag}@x', ticket, handlers: ['h'] },
      { name: 'rest', handlers: ['h'] },
    ],
    handlers: { h: { file: { path: '/tmp/x' } } },
  });
  it('applies defaults', () => {
    const c = validateConfig(base({ secret: 's' }));
    expect(c.routes[0]!.ticket).toEqual({
      rules: ['address', 'thread', 'subject'],
      secret: 's',
      signatureLength: 16,
      subject: '/\\[#(\\d+)\\]/',
      required: true,
    });
  });
  it('rejects an address rule without a secret, a bad pattern, an unknown rule', () => {
    expect(() => validateConfig(base({}))).toThrow(/routes\[0\]\.ticket\.secret/);
    expect(() => validateConfig(base({ rules: ['thread'], subject: '(' }))).toThrow(/ticket\.subject/);
    expect(() => validateConfig(base({ rules: ['magic'], secret: 's' }))).toThrow(/ticket\.rules/);
    expect(validateConfig(base({ rules: ['thread'] })).routes[0]!.ticket!.rules).toEqual(['thread']);
  });
});

describe('thread map in the SQLite store', () => {
  it('normalises ids like the parser, replaces on re-remember, batches', async () => {
    const { openSqliteStore } = await import('../../../src/store/sqlite/store.js');
    const { rememberThreads } = await import('../../../src/store/sqlite/threads.js');
    const store = openSqliteStore(':memory:');
    try {
      store.rememberThread('<N-1@App.Example>', '1');
      expect(store.lookupThread('N-1@app.example')).toBe('1');
      expect(store.lookupThread('<N-1@APP.example>')).toBe('1');
      expect(store.lookupThread('n-1@app.example')).toBeUndefined();
      store.rememberThread('N-1@app.example', '2');
      expect(store.lookupThread('<N-1@app.example>')).toBe('2');
      expect(
        rememberThreads(store, [
          { messageId: '<a@b>', ticket: '3' },
          { messageId: 'c@d', ticket: '4' },
        ]),
      ).toBe(2);
      expect([store.lookupThread('a@b'), store.lookupThread('<c@d>')]).toEqual(['3', '4']);
      expect(() => store.rememberThread('no id here', '5')).toThrow(TypeError);
      expect(() => store.rememberThread('<e@f>', '')).toThrow(TypeError);
      expect(store.lookupThread('')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
