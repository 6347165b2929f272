// Helpdesk wiring end to end: the application sends notifications (signed reply address,
// notificationHeaders, Message-ID remembered in the thread map); customers' replies land in a real
// Dovecot mailbox; the IMAP source pulls them; ticket routes pick the ticket by signed address,
// thread map or subject token; the webhook receives ticket id, stripped text, classification, why.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import {
  notificationHeaders,
  openThreadMapFromConfig,
  signReplyAddress,
  type MessagePayload,
} from '../../src/index.js';
import { outcomeWaiter } from '../../src/service/outcomes.js';
import { createImapSource } from '../../src/sources/imap/source.js';
import type { Source } from '../../src/sources/types.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { FAST, sourceConfig } from '../unit/sources/imap/kit.js';

const SECRET = 'e2e-reply-secret';
const DOMAIN = 'reply.example.com';
const LOOP_TOKEN = 'helpdesk.app.example';

interface Hit {
  path: string;
  body: MessagePayload;
}

let dc: Dovecot;
let hook: Server;
let hookUrl: string;
const hits: Hit[] = [];
let dir: string;
let app: App | null = null;
let source: Source | null = null;

beforeAll(async () => {
  dc = await startDovecot();
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        path: req.url ?? '',
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagePayload,
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'mi-tickets-'));
});

afterAll(async () => {
  await source?.stop(5_000);
  await app?.close();
  hook.close();
  await dc.close();
  await rm(dir, { recursive: true, force: true });
});

/** The config a helpdesk would write (docs/TICKETS.md), pointed at the harness. */
function helpdeskConfig(imap: Record<string, unknown>): Record<string, unknown> {
  return {
    store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
    log: { level: 'silent' },
    sources: { support: imap },
    routes: [
      { name: 'loops', when: { loop: true }, action: 'drop' },
      { name: 'bounces', when: { bounce: true }, handlers: ['archive'] },
      { name: 'auto-replies', when: { autoReply: true }, handlers: ['archive'] },
      {
        name: 'ticket-reply',
        to: `reply+{tag}@${DOMAIN}`,
        ticket: {
          rules: ['address', 'thread', 'subject'],
          secret: '${REPLY_SECRET}',
          subject: '/\\[#(\\d+)\\]/',
          required: true,
        },
        handlers: ['helpdesk'],
      },
      { name: 'everything-else', handlers: ['inbox'] },
    ],
    handlers: {
      helpdesk: { webhook: { url: `${hookUrl}/helpdesk`, secret: 'hook-secret' } },
      archive: { webhook: { url: `${hookUrl}/archive` } },
      inbox: { webhook: { url: `${hookUrl}/inbox` } },
    },
  };
}

const DATE = 'Mon, 02 Nov 2026 10:00:00 +0000';

function mail(headers: Record<string, string>, body: string): Buffer {
  const head = Object.entries({ Date: DATE, 'MIME-Version': '1.0', ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`);
}

describe('helpdesk replies through IMAP', () => {
  it('attaches replies to the right ticket, keeps auto-replies and forgeries away from the helpdesk', async () => {
    process.env.REPLY_SECRET = SECRET;
    const u = uniqueUser('tickets');
    await dc.addUser(u.user, u.password);
    const configPath = join(dir, 'mailintake.yaml');
    await writeFile(configPath, stringify(helpdeskConfig(sourceConfig(dc, u))));

    // The application sends two notifications and remembers their Message-IDs.
    const replyTo1234 = signReplyAddress({ local: 'reply', tag: '1234', domain: DOMAIN, secret: SECRET });
    const n1234 = notificationHeaders({ loopToken: LOOP_TOKEN, domain: 'app.example' });
    const n77 = notificationHeaders({ loopToken: LOOP_TOKEN, messageId: '<n-77@app.example>' });
    expect(n1234.headers['Auto-Submitted']).toBe('auto-generated');
    const threads = openThreadMapFromConfig(configPath);
    threads.remember(n1234.messageId, '1234');
    threads.remember(n77.messageId, '77');
    threads.close();

    const customer = 'Alice Customer <alice@customer.example>';
    // (a) plain-text reply to the signed address, with quoted history
    const a = mail(
      {
        From: customer,
        To: replyTo1234,
        Subject: 'Re: [#1234] Printer on fire',
        'Message-ID': '<a-1@customer.example>',
        'In-Reply-To': n1234.messageId,
        'Content-Type': 'text/plain; charset=utf-8',
      },
      [
        'Thanks, the printer works again after the reset.',
        '',
        'On Mon, 2 Nov 2026 at 09:00, Helpdesk <help@app.example> wrote:',
        '> We have reset the printer.',
        '> Reply to this email if it happens again.',
        '',
      ].join('\n'),
    );
    // (b) Outlook HTML reply: unsigned address, the notification referenced only by In-Reply-To
    const b = mail(
      {
        From: 'Bob Buyer <bob@customer.example>',
        To: `reply+77@${DOMAIN}`,
        Subject: 'RE: Invoice question',
        'Message-ID': '<b-1@customer.example>',
        'In-Reply-To': n77.messageId,
        'Content-Type': 'text/html; charset=utf-8',
      },
      [
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>',
        '<div class="WordSection1"><p class="MsoNormal">The invoice number is INV-4711.</p></div>',
        '<hr style="display:inline-block;width:98%" tabindex="-1">',
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">',
        '<b>From:</b> Helpdesk &lt;help@app.example&gt;<br><b>Sent:</b> Monday, November 2, 2026 9:00 AM<br>',
        '<b>To:</b> Bob Buyer &lt;bob@customer.example&gt;<br><b>Subject:</b> Invoice question</font>',
        '<div>&nbsp;</div></div><div>Which invoice do you mean?</div></body></html>',
      ].join('\n'),
    );
    // (c) out-of-office auto-reply to the signed address
    const c = mail(
      {
        From: customer,
        To: replyTo1234,
        Subject: 'Automatic reply: [#1234] Printer on fire',
        'Message-ID': '<c-1@customer.example>',
        'Auto-Submitted': 'auto-replied',
        'Content-Type': 'text/plain; charset=utf-8',
      },
      'I am out of the office until Monday.\n',
    );
    // (d) forged signature, no thread headers, no subject token
    const forged = signReplyAddress({ local: 'reply', tag: '1234', domain: DOMAIN, secret: 'guess' });
    const d = mail(
      {
        From: 'Mallory <mallory@evil.example>',
        To: forged,
        Subject: 'Re: Printer on fire',
        'Message-ID': '<d-1@evil.example>',
        'Content-Type': 'text/plain; charset=utf-8',
      },
      'Please close this ticket.\n',
    );
    // (e) unsigned address, new thread, subject token only: the last rule
    const e = mail(
      {
        From: customer,
        To: `reply+1234@${DOMAIN}`,
        Subject: 'Still broken [#1234]',
        'Message-ID': '<e-1@customer.example>',
        'Content-Type': 'text/plain; charset=utf-8',
      },
      'It is on fire again.\n',
    );
    // (f) our own notification come back (a customer's forwarding rule kept its headers)
    const f = mail(
      {
        From: 'Helpdesk <help@app.example>',
        To: customer,
        'Reply-To': replyTo1234,
        Subject: '[#1234] Printer on fire',
        ...n1234.headers,
        'Content-Type': 'text/plain; charset=utf-8',
      },
      'We have reset the printer.\n',
    );
    for (const raw of [a, b, c, d, e, f]) await dc.save(u.user, 'INBOX', raw);

    const loaded = loadConfig(configPath);
    const log = pino({ level: process.env.TEST_LOG ?? 'silent' });
    app = createApp(loaded.config, dir, log);
    app.pipeline.start();
    source = createImapSource(
      {
        name: 'support',
        config: loaded.config.sources.support!,
        intake: app.intake,
        store: app.store,
        log: log.child({ source: 'support' }),
        onOutcome: (fn) => app!.pipeline.onOutcome(fn),
        awaitOutcomes: outcomeWaiter(app.store, app.pipeline),
        baseDir: dir,
      },
      FAST,
    );
    const res = await source.runOnce();
    expect(res.fetched).toBe(6);
    await app.pipeline.idle();
    expect(app.store.counts().byStatus).toEqual({ delivered: 5, skipped: 1 });
    expect(app.store.recent('skipped', 1)[0]!.reason).toBe('dropped by route loops');

    const by = (mid: string) => {
      const h = hits.filter((x) => x.body.messageId === mid);
      expect(h, mid).toHaveLength(1);
      return h[0]!;
    };
    const ha = by('a-1@customer.example');
    expect(ha.path).toBe('/helpdesk');
    expect(ha.body.route.name).toBe('ticket-reply');
    expect(ha.body.route.captures.ticket).toBe('1234');
    expect(ha.body.route.why).toEqual([
      `to ${replyTo1234}`,
      `ticket 1234 from signed address reply+1234.${replyTo1234.slice(11, 14)}…@${DOMAIN}`,
    ]);
    expect(ha.body.strippedReply?.text).toBe('Thanks, the printer works again after the reset.');
    // the verdicts reach the webhook JSON as typed fields with reasons
    expect(ha.body.classification).toEqual({
      autoReply: { autoReply: false, kind: 'none', reasons: [] },
      bounce: expect.objectContaining({ bounce: false, kind: 'none', recipients: [] }) as unknown,
      loop: { loop: false, hops: 0, reasons: [] },
    });

    const hb = by('b-1@customer.example');
    expect(hb.path).toBe('/helpdesk');
    expect(hb.body.route.captures).toEqual({ tag: '77', ticket: '77' });
    expect(hb.body.route.why).toEqual([
      `to reply+77@${DOMAIN}`,
      'ticket 77 from In-Reply-To <n-77@app.example>',
    ]);
    expect(hb.body.strippedReply?.text).toBe('The invoice number is INV-4711.');

    const hc = by('c-1@customer.example');
    expect(hc.path).toBe('/archive');
    expect(hc.body.route.name).toBe('auto-replies');
    expect(hc.body.classification.autoReply).toMatchObject({ autoReply: true, kind: 'vacation' });
    expect(hc.body.classification.autoReply.reasons).toContain('Auto-Submitted: auto-replied');

    const hd = by('d-1@evil.example');
    expect(hd.path).toBe('/inbox');
    expect(hd.body.route.name).toBe('everything-else');
    expect(hd.body.route.captures).toEqual({});
    expect(hd.body.route.why).toHaveLength(2);
    expect(hd.body.route.why[0]).toMatch(
      /^not ticket-reply: forged signature on reply\+1234\.[a-z2-7]{3}…@reply\.example\.com: rejected; no ticket \(address: forged signature; thread: no In-Reply-To or References; subject: /,
    );
    expect(hd.body.route.why[1]).toBe('catch-all');

    const he = by('e-1@customer.example');
    expect(he.path).toBe('/helpdesk');
    expect(he.body.route.captures.ticket).toBe('1234');
    expect(he.body.route.why.at(-1)).toBe('ticket 1234 from subject token [#1234]');

    expect(hits.some((h) => h.body.subject === '[#1234] Printer on fire')).toBe(false);
    expect(
      hits
        .filter((h) => h.path === '/helpdesk')
        .map((h) => h.body.messageId)
        .sort(),
    ).toEqual(['a-1@customer.example', 'b-1@customer.example', 'e-1@customer.example']);
    expect(app.store.lookupThread('<n-77@app.example>')).toBe('77');
  });
});
