import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_INPUT, stripReply } from '../../../../src/core/reply/strip.js';
import { CORPUS } from './corpus-score.js';

const strip = (text: string) => stripReply({ text });

describe('stripReply: plain text', () => {
  it('cuts Gmail "On … wrote:" including a header split over two lines', () => {
    const r = strip(
      'Thanks, done.\n\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris Wanstrath\n<c@example.com> wrote:\n\n> old\n',
    );
    expect(r.text).toBe('Thanks, done.');
    expect(r.quoted).toContain('> old');
    expect(r.method).toBe('on-wrote');
  });

  it.each([
    ['fr', 'Le 15 janv. 2024 à 14:30, Pierre <p@example.fr> a écrit :'],
    ['de', 'Am 14.01.2024 um 10:00 schrieb Hans Mueller <hans@example.de>:'],
    ['es', 'El jueves, 21 de noviembre de 2013, codinghorror escribió:'],
    ['it', 'Il 26 marzo 2016 alle 13.16 Sam <s@example.com> ha scritto:'],
    ['nl', 'Op 2 feb. 2015 om 05:28 heeft Vannilla <v@example.com> het volgende geschreven:'],
    ['pt', 'Em 2 de fevereiro de 2015 10:58, discourse <info@example.org> escreveu:'],
    ['da', 'Den 15. jun. 2016 kl. 20.42 skrev Jeff <info@example.org>:'],
    ['fi', 'pe 20. lokakuuta 2017 klo 17.50 John Coe <j@test.com> kirjoitti:'],
    ['ru', 'ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:'],
    ['pl', 'Dnia 14 lip 2015 o godz. 00:25 Michael <m@example.org> napisał(a):'],
    ['zh', '在 2016年12月12日，下午8:45，Erlend <meta@example.com> 写道：'],
  ])('cuts the %s attribution', (_lang, header) => {
    const r = strip(`New answer here.\n\n${header}\n\n> quoted\n> more\n`);
    expect(r.text).toBe('New answer here.');
    expect(r.quoted).toContain('quoted');
  });

  it('cuts an Outlook From/Sent/To/Subject block and -----Original Message-----', () => {
    const outlook =
      'Reply.\n________________________________\nFrom: A <a@x.com>\nSent: Monday\nTo: B\nSubject: S\n\nOld';
    expect(strip(outlook)).toMatchObject({ text: 'Reply.', signature: '' });
    const orig = 'Reply.\n\n-----Original Message-----\nFrom: A\nSent: Monday\n\nOld';
    expect(strip(orig)).toMatchObject({ text: 'Reply.', method: 'original-message' });
  });

  it('separates the "-- " signature and "Sent from my iPhone"', () => {
    const r = strip('Hello\n\n-- \nJane\nACME\n\nOn Apr 3, 2012, at 4:19 PM, bob wrote:\n> Hi');
    expect(r).toMatchObject({ text: 'Hello', signature: '-- \nJane\nACME', method: 'signature-delimiter' });
    expect(r.quoted).toContain('> Hi');
    expect(strip('Ok\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob wrote:\n> Hi')).toMatchObject({
      text: 'Ok',
      signature: 'Sent from my iPhone',
    });
  });

  it('keeps inline answers between quotes and drops leading and trailing history', () => {
    const r = strip(
      'On Mon, Jan 1, 2024 at 9:00 AM, A <a@x.com> wrote:\n> q1\n\nanswer 1\n\n> q2\n\nanswer 2\n\n> tail',
    );
    // The opening attribution and its quote are history; later quotes are kept as context.
    expect(r.text).toBe('answer 1\n\n> q2\n\nanswer 2');
    expect(r.quoted).toContain('> tail');
  });

  it('does not cut prose that looks like headers', () => {
    const prose =
      'On the other hand, we should be careful.\nOn average, this works.\n\nSent from my desk, is much easier.';
    expect(strip(prose)).toMatchObject({ text: prose, method: 'none' });
  });

  it('returns empty text for pure quoted history and handles empty input', () => {
    expect(strip('> On Mon, Jan 1, 2024 at 9:00 AM, A <a@x.com> wrote:\n>> hi').text).toBe('');
    expect(stripReply({})).toMatchObject({ text: '', quoted: '', signature: '' });
    expect(stripReply({ text: null, html: null }).text).toBe('');
  });
});

describe('stripReply: HTML', () => {
  it('cuts Gmail div.gmail_quote', () => {
    const html =
      '<div dir="ltr">Sounds good<br><div class="gmail_signature">Ann</div></div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, Jan 1, 2024 at 9:00 AM Bob &lt;b@x.com&gt; wrote:<br></div><blockquote class="gmail_quote">old</blockquote></div>';
    const r = stripReply({ html });
    expect(r).toMatchObject({ text: 'Sounds good', signature: '--\nAnn' });
    expect(r.method.startsWith('html:gmail_quote')).toBe(true);
    expect(r.quoted).toContain('old');
  });

  it('cuts Outlook #divRplyFwdMsg and an HTML "From: … Sent: …" block', () => {
    const owa =
      '<div>Fixed it.</div><hr style="display:inline-block"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> A<br><b>Sent:</b> Monday<br></div><div>old</div>';
    expect(stripReply({ html: owa })).toMatchObject({ text: 'Fixed it.', method: 'html:divRplyFwdMsg' });
    const desktop =
      '<p class=MsoNormal>Fixed&nbsp;it.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt"><p class=MsoNormal><b>From:</b> A &lt;a@x.com&gt;<br><b>Sent:</b> Monday, 1 January 2024 09:00<br><b>To:</b> B<br><b>Subject:</b> S</p></div><p>old</p>';
    expect(stripReply({ html: desktop })).toMatchObject({ text: 'Fixed it.', method: 'header-block' });
  });

  it('cuts Apple Mail blockquote type=cite after its attribution', () => {
    const html =
      '<div>Yes please.</div><div><br><blockquote type="cite"><div>On 3 Apr 2012, at 16:19, bob &lt;bob@x.com&gt; wrote:</div><div>Hi</div></blockquote></div>';
    const html2 =
      '<div>Yes please.</div><div><br><div>On 3 Apr 2012, at 16:19, bob &lt;bob@x.com&gt; wrote:</div><blockquote type="cite"><div>Hi</div></blockquote></div>';
    expect(stripReply({ html }).text).toBe('Yes please.');
    expect(stripReply({ html: html2 })).toMatchObject({ text: 'Yes please.', method: 'on-wrote' });
  });

  it('reduces the talon HTML client fixtures to the reply (upstream assertion)', () => {
    const dir = join(CORPUS, 'mailgun-talon', 'html_replies');
    for (const f of readdirSync(dir)) {
      const r = stripReply({ html: readFileSync(join(dir, f), 'utf8') });
      expect(r.text.replace(/\s+/g, ''), f).toBe('Hi.Iamfine.Thanks,Alex');
    }
  });

  it('prefers text/plain when both are present', () => {
    expect(stripReply({ text: 'plain', html: '<p>html</p>' }).text).toBe('plain');
  });
});

describe('stripReply: hostile input', () => {
  it('handles 5 MB inputs quickly and keeps the rest in quoted', () => {
    const inputs = [
      'a'.repeat(5_000_000),
      'On '.repeat(1_700_000),
      `${'> '.repeat(100)}x\n`.repeat(25_000),
      `Hi\n${'On Mon, 1 Jan 2024 at 10:00 '.repeat(200)}\n`.repeat(1000),
    ];
    for (const text of inputs) {
      const t0 = performance.now();
      const r = stripReply({ text });
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(r.method.endsWith('+truncated')).toBe(true);
    }
    const t0 = performance.now();
    stripReply({ html: '<div class="x" '.repeat(400_000) + '<!--'.repeat(100_000) });
    stripReply({ html: '<blockquote>'.repeat(500_000) });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(MAX_INPUT).toBeLessThan(5_000_000);
  });

  it('never throws; text lines are a subsequence of the input lines', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '> quoted',
        '-- ',
        '____',
        'On Mon, 1 Jan 2024 at 10:00, A <a@x.com> wrote:',
        'From: a',
        'Sent: 1 2',
        'To: b',
        'Subject: c',
        'Sent from my iPhone',
        '```',
        '',
      ),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.string({ maxLength: 200 }), (lines, html) => {
        const text = lines.join('\n');
        const r = stripReply({ text });
        const input = text.replace(/\r\n?/g, '\n').split('\n');
        let j = 0;
        for (const out of r.text.split('\n')) {
          if (out === '' && r.text === '') break;
          while (j < input.length && (input[j] ?? '').trimEnd() !== out.trimEnd()) j++;
          expect(j, `line ${JSON.stringify(out)} not in input order`).toBeLessThan(input.length);
          j++;
        }
        expect(() => stripReply({ html })).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
