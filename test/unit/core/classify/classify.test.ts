import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';
import { LOOP_HEADER } from '../../../../src/core/classify/types.js';

const msg = (head: string, body = 'hello\n'): Buffer => Buffer.from(`${head.trim()}\n\n${body}`, 'utf8');
const plain =
  'From: Ann <ann@example.com>\nTo: desk@example.org\nSubject: Question about my order\nMessage-ID: <a1@example.com>';

describe('plain mail', () => {
  it('is neither auto-reply, bounce nor loop', () => {
    const c = classify(msg(plain));
    expect(c.autoReply).toEqual({ autoReply: false, reasons: [], kind: 'none' });
    expect(c.bounce.bounce).toBe(false);
    expect(c.bounce.kind).toBe('none');
    expect(c.loop).toEqual({ loop: false, hops: 0, reasons: [] });
  });

  it('Auto-Submitted: no is not an auto-reply', () => {
    expect(classify(msg(`${plain}\nAuto-Submitted: no`)).autoReply.autoReply).toBe(false);
  });
});

describe('auto-reply', () => {
  it.each([
    ['Auto-Submitted: auto-replied', 'vacation'],
    ['Auto-Submitted: auto-generated', 'auto-generated'],
    ['Auto-Submitted: auto-notified; owner-email="a@b.example"', 'auto-generated'],
    ['X-Autoreply: yes', 'vacation'],
    ['X-Autorespond: Out of office', 'vacation'],
    ['X-MS-Exchange-Inbox-Rules-Loop: desk@example.org', 'vacation'],
    ['Precedence: auto_reply', 'vacation'],
    ['Precedence: bulk', 'auto-generated'],
    ['X-Precedence: junk', 'auto-generated'],
    ['Precedence: list', 'list'],
    ['List-Id: <users.lists.example.org>', 'list'],
    ['List-Unsubscribe: <mailto:leave@example.org>', 'list'],
    ['X-Auto-Response-Suppress: All', 'auto-generated'],
  ])('%s → %s', (line, kind) => {
    const c = classify(msg(`${plain}\n${line}`));
    expect(c.autoReply.autoReply).toBe(true);
    expect(c.autoReply.kind).toBe(kind);
    expect(c.autoReply.reasons.length).toBeGreaterThan(0);
  });

  it('X-Auto-Response-Suppress with other values is not a marker', () => {
    expect(classify(msg(`${plain}\nX-Auto-Response-Suppress: DR, RN`)).autoReply.autoReply).toBe(false);
  });

  it.each([
    'Out of Office: Question',
    'Automatic reply: Question',
    'Auto: Question',
    'Abwesenheitsnotiz: Frage',
    'Automatische Antwort: Frage',
    'Réponse automatique : Question',
    'Autosvar: Fråga',
    '=?UTF-8?Q?R=C3=A9ponse_automatique?= : Question',
    '=?iso-8859-1?Q?Abwesenheitsnotiz?=',
  ])('subject %s', (subject) => {
    const c = classify(msg(`From: ann@example.com\nSubject: ${subject}`));
    expect(c.autoReply).toMatchObject({ autoReply: true, kind: 'vacation' });
    expect(c.autoReply.reasons[0]).toMatch(/^subject: /);
  });

  it('does not take ordinary subjects for auto-replies', () => {
    for (const s of ['Re: Automatic backups', 'Office party', 'Reply to your question', 'Autumn sale']) {
      expect(classify(msg(`From: ann@example.com\nSubject: ${s}`)).autoReply.autoReply).toBe(false);
    }
  });
});

describe('loop', () => {
  it('counts our loop header', () => {
    const c = classify(msg(`${LOOP_HEADER}: a\n${plain}\n${LOOP_HEADER}: b`));
    expect(c.loop).toMatchObject({ loop: true, hops: 2 });
  });

  it('honours a threshold and X-Loop value', () => {
    const one = msg(`${LOOP_HEADER}: a\n${plain}`);
    expect(classify(one, { threshold: 2 }).loop).toMatchObject({ loop: false, hops: 1 });
    const xl = msg(`${plain}\nX-Loop: desk@example.org`);
    expect(classify(xl, { xLoop: 'Desk@Example.org' }).loop.loop).toBe(true);
    expect(classify(xl).loop.loop).toBe(false);
  });
});
