import { describe, expect, it } from 'vitest';
import { compilePattern, isCatchAll, route, type RouteSpec } from '../../../src/core/router.js';
import type { ParsedMessage } from '../../../src/core/parsed.js';
import type { Classification } from '../../../src/core/classify/types.js';
import { classification, parsedMessage } from '../../helpers/fixtures.js';

const parsed = (p: Partial<ParsedMessage> = {}): ParsedMessage =>
  parsedMessage({ subject: 'Re: [#1234] printer on fire', headers: new Map([['x-priority', ['1']]]), ...p });
const cls = (auto = false): Classification => classification({ autoReply: auto });

const r = (x: Partial<RouteSpec> & { name: string }): RouteSpec => ({
  action: 'deliver',
  handlers: ['h'],
  ...x,
});

describe('compilePattern', () => {
  it('captures named parts of a plus address, case-insensitively', () => {
    const m = compilePattern('reply+{ticket}@reply.example.com').re.exec('REPLY+T-42@Reply.Example.com');
    expect(m?.groups).toEqual({ ticket: 'T-42' });
  });
  it('escapes regex metacharacters in globs and supports * and /regex/', () => {
    expect(compilePattern('a.b@x.com').re.test('axb@x.com')).toBe(false);
    expect(compilePattern('*@partner.example').re.test('ops@partner.example')).toBe(true);
    expect(compilePattern('/^ops-(?<n>\\d+)@/').re.exec('ops-7@z')?.groups).toEqual({ n: '7' });
  });
});

describe('route', () => {
  const routes = [
    r({ name: 'auto', when: { autoReply: true }, action: 'drop', handlers: [] }),
    r({ name: 'ticket', to: 'reply+{ticket}@reply.example.com' }),
    r({ name: 'partner', from: '*@partner.example' }),
    r({ name: 'urgent', headers: { 'X-Priority': '/^1$/' }, subject: 'fire' }),
    r({ name: 'rest' }),
  ];
  it('routes each recipient on its own, first match wins, with captures', () => {
    const m = route(routes, {
      envelope: {
        mailFrom: 'a@b',
        rcptTo: ['reply+1@reply.example.com', 'reply+2@reply.example.com', 'other@x'],
      },
      parsed: parsed(),
      classification: cls(),
    });
    expect(m.map((x) => [x.route.name, x.recipient, x.captures])).toEqual([
      ['ticket', 'reply+1@reply.example.com', { ticket: '1' }],
      ['ticket', 'reply+2@reply.example.com', { ticket: '2' }],
      ['urgent', null, {}],
    ]);
  });
  it('classification predicates come first when listed first', () => {
    const m = route(routes, {
      envelope: { mailFrom: null, rcptTo: ['reply+1@reply.example.com'] },
      parsed: parsed(),
      classification: cls(true),
    });
    expect(m[0]?.route.name).toBe('auto');
  });
  it('falls back to header recipients when there is no envelope, and to the catch-all', () => {
    const m = route(routes, {
      envelope: { mailFrom: null, rcptTo: [] },
      parsed: parsed({
        to: [{ name: '', address: 'Reply+9@reply.example.com' }],
        headers: new Map(),
        subject: 'x',
        from: [],
      }),
      classification: cls(),
    });
    expect(m[0]?.captures).toEqual({ ticket: '9' });
    const rest = route(routes, {
      envelope: { mailFrom: null, rcptTo: [] },
      parsed: parsed({ headers: new Map(), subject: 'x', from: [] }),
      classification: cls(),
    });
    expect(rest.map((x) => x.route.name)).toEqual(['rest']);
    expect(rest[0]?.why).toEqual(['catch-all']);
  });
  it('knows a catch-all', () => {
    expect(isCatchAll(r({ name: 'x' }))).toBe(true);
    expect(isCatchAll(r({ name: 'x', subject: 'a' }))).toBe(false);
  });
});
