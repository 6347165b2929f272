// Credentials never reach the logs: the worker runs at debug level through real logins (IMAP
// STARTTLS, POP3 USER/PASS, a failing login, an XOAUTH2 token, SMTP AUTH PLAIN/LOGIN, a signed webhook
// with an Authorization header) and stdout+stderr are scanned for every secret in plain text, base64
// (alone, in SASL PLAIN/XOAUTH2 blobs, at any alignment) and URL-encoded.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/dovecot.js';
import { makeMessage, RawSmtp } from '../harness/smtp-clients.js';
import { freePort, isListening, waitFor } from '../harness/wait.js';
import { genMessage } from '../helpers/gen.js';
import { HAVE_CLI, readLedger, runCli, secretForms, startWorker } from '../fault/kit.js';

const PW = 'Imap-Pw-7f3c9a1e2b';
const POP_PW = 'Pop-Pw-5d8e0c4b71';
const WRONG = 'Wrong-Pw-0a9b8c7d6e';
const TOKEN = 'ya29.Tok-3e1f5a7c9b0d';
const HOOK_SECRET = 'Hook-Secret-c4d2e8f6a0';
const BEARER = 'Bearer-Hdr-91ab37cd5e';
const SMTP_PW = 'Smtp-Pw-66e1d0f9b2';

let dc: Dovecot;
let dir = '';
let hook: Server;
let hookUrl = '';
let hookHits = 0;

beforeAll(async () => {
  dc = await startDovecot({
    users: [
      { user: 'sec-imap', password: PW },
      { user: 'sec-pop', password: POP_PW },
    ],
  });
  dir = await mkdtemp(join(tmpdir(), 'mi-sec-log-'));
  hook = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hookHits++;
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  hook?.close();
  await dc?.close();
  await rm(dir, { recursive: true, force: true });
});

function scan(output: string, secrets: Array<[string, string | undefined]>): string[] {
  const leaks: string[] = [];
  for (const [secret, user] of secrets) {
    for (const form of secretForms(secret, user))
      if (output.includes(form)) leaks.push(`${secret} as ${form}`);
  }
  return leaks;
}

describe.skipIf(!HAVE_CLI)('secrets never in logs (debug level)', () => {
  it('pull sources: good and bad logins, XOAUTH2 token, signed webhook with auth header', async () => {
    await dc.save('sec-imap', 'INBOX', genMessage(1, { tag: 'sec' }));
    await dc.save('sec-pop', 'INBOX', genMessage(2, { tag: 'sec' }));
    const imap = (user: string, auth: Record<string, unknown>) => ({
      imap: {
        host: '127.0.0.1',
        port: dc.ports.imap,
        secure: false,
        starttls: true,
        user,
        ...auth,
        tls: { caFile: dc.caFile, servername: 'localhost' },
        socketTimeout: '10s',
      },
      idle: false,
    });
    const cfg = join(dir, 'pull.yaml');
    await writeFile(
      cfg,
      JSON.stringify({
        store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
        log: { level: 'trace' },
        sources: {
          good: imap('sec-imap', { password: PW }),
          bad: imap('sec-imap', { password: WRONG }),
          token: imap('sec-imap', { accessToken: TOKEN }),
          pop: {
            pop3: { host: '127.0.0.1', port: dc.ports.pop3, secure: false, starttls: false, user: 'sec-pop', password: POP_PW }, // prettier-ignore
          },
          popbad: {
            pop3: { host: '127.0.0.1', port: dc.ports.pop3, secure: false, starttls: false, user: 'sec-pop', password: WRONG }, // prettier-ignore
          },
        },
        routes: [{ name: 'all', handlers: ['hook'] }],
        handlers: {
          hook: {
            webhook: { url: hookUrl, secret: HOOK_SECRET, headers: { authorization: `Bearer ${BEARER}` } },
          },
        },
      }),
    );
    const once = await runCli(['run', '--once', '-c', cfg], {}, 90_000);
    const check = await runCli(['check', '-c', cfg], {}, 60_000);
    const output = once.output + check.output;
    // The runs did log in and did fail where they should (so the scan covers real auth traffic).
    expect(hookHits, once.output.slice(-2000)).toBeGreaterThanOrEqual(2);
    expect(once.code).toBe(1); // the bad sources failed
    expect(output).toMatch(/auth|login|credentials/i);
    expect(output).toContain('sec-pop'); // the logs do talk about these accounts (USER sec-pop)
    const rows = readLedger(join(dir, 'db.sqlite'));
    expect(rows.filter((r) => r.status === 'delivered').length).toBeGreaterThanOrEqual(2);
    const leaks = scan(output, [
      [PW, 'sec-imap'],
      [POP_PW, 'sec-pop'],
      [WRONG, 'sec-imap'],
      [WRONG, 'sec-pop'],
      [TOKEN, 'sec-imap'],
      [HOOK_SECRET, undefined],
      [BEARER, undefined],
    ]);
    expect(leaks).toEqual([]);
  }, 120_000);

  it('push listener: SMTP AUTH PLAIN and LOGIN (good and bad) at trace level', async () => {
    const port = await freePort();
    const cfg = join(dir, 'push.yaml');
    await writeFile(
      cfg,
      JSON.stringify({
        store: {
          sqlite: join(dir, 'push.sqlite'),
          spool: join(dir, 'pspool'),
          attachments: join(dir, 'patt'),
        },
        log: { level: 'trace' },
        push: {
          listen: `127.0.0.1:${port}`,
          domains: ['example.test'],
          auth: { required: true, allowInsecure: true, users: [{ user: 'agent', password: SMTP_PW }] },
        },
        routes: [{ name: 'all', handlers: ['out'] }],
        handlers: { out: { maildir: { path: join(dir, 'pout') } } },
      }),
    );
    const w = startWorker(['run', '--push', '-c', cfg]);
    try {
      await waitFor(() => isListening(port), { timeoutMs: 20_000, what: 'push listener' });
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const replies: number[] = [];
      for (const [pw, mech] of [
        [WRONG, 'PLAIN'],
        [SMTP_PW, 'PLAIN'],
        [WRONG, 'LOGIN'],
        [SMTP_PW, 'LOGIN'],
      ] as const) {
        const s = await RawSmtp.open(port);
        await s.reply();
        await s.cmd('EHLO client.test');
        if (mech === 'PLAIN') replies.push((await s.cmd(`AUTH PLAIN ${b64(`\0agent\0${pw}`)}`)).code);
        else {
          await s.cmd('AUTH LOGIN');
          await s.cmd(b64('agent'));
          replies.push((await s.cmd(b64(pw))).code);
        }
        if (pw === SMTP_PW) {
          const r = await s.send(
            'a@client.test',
            ['x@example.test'],
            makeMessage({ to: 'x@example.test' }).raw,
          );
          expect(r.code).toBe(250);
        }
        await s.cmd('QUIT').catch(() => undefined);
        s.destroy();
      }
      expect(replies).toEqual([535, 235, 535, 235]);
    } finally {
      await w.stop();
    }
    const leaks = scan(w.output(), [
      [SMTP_PW, 'agent'],
      [WRONG, 'agent'],
    ]);
    expect(w.output()).toMatch(/auth/i);
    expect(leaks).toEqual([]);
  }, 60_000);
});
