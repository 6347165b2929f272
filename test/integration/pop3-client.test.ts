// The in-repo POP3 client against a real Dovecot (byte-exactness, UIDL, DELE semantics, TLS), plus the
// evidence for not using node-pop3 0.11.0 (LIBRARIES.md §3), asserted as observed.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import Pop3Command from 'node-pop3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pop3Client, Pop3Error, type Pop3ClientOptions } from '../../src/sources/pop3/client.js';
import { startDovecot, uniqueUser, type Dovecot, type DovecotUser } from '../harness/dovecot.js';
import { startProxy } from '../harness/proxy.js';
import { gatedServer } from '../harness/gated-pop3.js';
import { waitFor } from '../harness/wait.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');
const DOT_8BIT = Buffer.concat([
  crlf('From: a@example.com\nSubject: dots\nContent-Type: text/plain; charset=iso-8859-1\n\n'),
  crlf('.leading dot\n..two dots\n.\nlatin1: caf'),
  Buffer.from([0xe9, 0x20, 0xff, 0x80]),
  crlf('\nend\n'),
]);

function base64Attachment(bytes: number): Buffer {
  const data = randomBytes(bytes).toString('base64').replace(/.{76}/g, '$&\n');
  return crlf(
    'From: a@example.com\nSubject: att\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n' +
      `--b\nContent-Type: text/plain\n\n.see attached\n--b\nContent-Type: application/octet-stream\n` +
      `Content-Transfer-Encoding: base64\n\n${data}\n--b--\n`,
  );
}

let dc: Dovecot;
beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  await dc?.close();
});

async function newUser(): Promise<DovecotUser> {
  const u = uniqueUser('pop');
  await dc.addUser(u.user, u.password);
  return u;
}

function plain(u: DovecotUser, extra: Partial<Pop3ClientOptions> = {}): Pop3ClientOptions {
  return { host: dc.host, port: dc.ports.pop3, tls: 'none', auth: u, timeoutMs: 10_000, ...extra };
}

describe('node-pop3 0.11.0 defects (why we do not use it)', () => {
  it('keeps dot-stuffing and decodes 8-bit bytes as UTF-8 (Dovecot)', async () => {
    const u = await newUser();
    await dc.save(u.user, 'INBOX', DOT_8BIT);
    const pop = new Pop3Command({ host: dc.host, port: dc.ports.pop3, user: u.user, password: u.password, timeout: 5000 }); // prettier-ignore
    const text = await pop.RETR(1);
    await pop.QUIT();
    expect(typeof text).toBe('string'); // (b) a string, never bytes
    expect(text).toContain('\r\n..leading dot\r\n'); // (a) dot-stuffing kept
    expect(text).toContain('\r\n...two dots\r\n');
    expect(text).toContain('caf\uFFFD \uFFFD\uFFFD'); // (b) é, ÿ, 0x80 → U+FFFD
    expect(text.endsWith('end')).toBe(true); // the final CRLF is dropped too
    expect(Buffer.from(text, 'latin1').equals(DOT_8BIT)).toBe(false);
  });

  it('hangs when CRLF.CRLF is split across TCP reads, even with `timeout` (node-pop3#36)', async () => {
    const body = crlf('Subject: split\n\nhello\n');
    const srv = await gatedServer(
      Buffer.concat([crlf('+OK\n'), body, Buffer.from('.')]),
      Buffer.from('\r\n'),
    );
    const pop = new Pop3Command({
      host: '127.0.0.1',
      port: srv.port,
      user: 'u',
      password: 'p',
      timeout: 500,
    });
    pop.on('warn', () => undefined);
    let settled = false;
    const retr = pop.RETR(1).then(
      () => (settled = true),
      () => (settled = true),
    );
    const sock = (): Socket | null => (pop as unknown as { _socket: Socket | null })._socket;
    await waitFor(() => (sock()?.bytesRead ?? 0) >= srv.firstBytes(), {
      what: 'first part read by node-pop3',
    });
    srv.release();
    // A deadline on a hang: 3 s is 6x node-pop3's own timeout, and the promise is still pending.
    const outcome = await Promise.race([retr, new Promise((r) => setTimeout(() => r('pending'), 3000))]);
    expect(outcome).toBe('pending');
    expect(settled).toBe(false);
    sock()?.destroy();
    await srv.close();
  });

  it('our client handles the same split terminator', async () => {
    const body = crlf('Subject: split\n\nhello\n');
    const srv = await gatedServer(
      Buffer.concat([crlf('+OK\n'), body, Buffer.from('.')]),
      Buffer.from('\r\n'),
    );
    const c = await Pop3Client.connect({ host: '127.0.0.1', port: srv.port, tls: 'none', auth: { user: 'u', password: 'p' }, timeoutMs: 2000 }); // prettier-ignore
    const got = c.retr(1);
    await waitFor(() => srv.waiting(), { what: 'server holding the last bytes' });
    srv.release();
    expect(await got).toEqual(body);
    c.destroy();
    await srv.close();
  });
});

describe('Pop3Client against Dovecot', () => {
  it('8-bit, dot lines, base64 attachment and a 5 MB message arrive byte-identical', async () => {
    const u = await newUser();
    const big = Buffer.concat([
      crlf('Subject: big\n\n'),
      crlf(`${'.x'.repeat(38)}\n`.repeat(65_000)),
      crlf('.\n'),
    ]);
    expect(big.length).toBeGreaterThan(5_000_000);
    const raws = [DOT_8BIT, base64Attachment(200_000), big, crlf('Subject: empty body\n\n')];
    for (const raw of raws) await dc.save(u.user, 'INBOX', raw);
    const c = await Pop3Client.connect(plain(u));
    expect((await c.stat()).count).toBe(raws.length);
    for (let n = 1; n <= raws.length; n++) expect((await c.retr(n)).equals(raws[n - 1] as Buffer)).toBe(true);
    expect((await c.list()).map((e) => e.size)).toEqual(raws.map((r) => r.length));
    await c.quit();
  });

  it('UIDL is stable across sessions (and matches pop3_uidl_format)', async () => {
    const u = await newUser();
    for (let i = 0; i < 3; i++) await dc.save(u.user, 'INBOX', crlf(`Subject: ${i}\n\nx\n`));
    const c1 = await Pop3Client.connect(plain(u));
    const first = await c1.uidl();
    expect(await c1.uidlOne(2)).toEqual(first[1]);
    await c1.quit();
    const c2 = await Pop3Client.connect(plain(u));
    expect(await c2.uidl()).toEqual(first);
    await c2.quit();
    // %08Xu%08Xv: UID then UIDVALIDITY, 8 hex digits each (Dovecot prints them in lower case).
    const v = (await dc.uidValidity(u.user, 'INBOX')).toString(16).padStart(8, '0');
    expect(first.map((e) => e.uid)).toEqual([1, 2, 3].map((n) => `${n.toString(16).padStart(8, '0')}${v}`));
  });

  it('DELE + QUIT removes; DELE + dropped connection rolls back', async () => {
    const u = await newUser();
    for (let i = 0; i < 3; i++) await dc.save(u.user, 'INBOX', crlf(`Subject: ${i}\n\nx\n`));
    const c1 = await Pop3Client.connect(plain(u));
    await c1.dele(1);
    c1.destroy();
    await waitFor(async () => (await dc.list(u.user, 'INBOX')).length === 3, { what: 'rollback visible' });
    const c2 = await Pop3Client.connect(plain(u));
    expect((await c2.stat()).count).toBe(3);
    await c2.dele(1);
    await c2.quit();
    expect((await dc.list(u.user, 'INBOX')).length).toBe(2);
  });

  it('STLS verifies with the harness CA; fails clearly without it (verification on by default)', async () => {
    const u = await newUser();
    const ca = readFileSync(dc.caFile);
    const c = await Pop3Client.connect(plain(u, { tls: 'starttls', ca, servername: 'localhost' }));
    expect(c.secure).toBe(true);
    await c.noop();
    await c.quit();
    const err = await Pop3Client.connect(plain(u, { tls: 'starttls' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pop3Error);
    expect(err).toMatchObject({ code: 'TLS', retryable: false, command: 'STLS' });
    expect((err as Error).message).toMatch(/certificate verification failed .*ca/i);
    // Default mode on port 110-style servers is STLS, so plaintext passwords need an explicit tls: 'none'.
    const dflt = await Pop3Client.connect({ host: dc.host, port: dc.ports.pop3, ca, auth: u, servername: 'localhost' }); // prettier-ignore
    expect(dflt.secure).toBe(true);
    await dflt.quit();
  });

  it('implicit TLS on the pop3s port', async () => {
    const u = await newUser();
    await dc.save(u.user, 'INBOX', DOT_8BIT);
    const ca = readFileSync(dc.caFile);
    const c = await Pop3Client.connect(plain(u, { port: dc.ports.pop3s, tls: 'implicit', ca }));
    expect(c.secure).toBe(true);
    expect((await c.retr(1)).equals(DOT_8BIT)).toBe(true);
    await c.quit();
    await expect(Pop3Client.connect(plain(u, { port: dc.ports.pop3s, tls: 'implicit' }))).rejects.toMatchObject({ code: 'TLS' }); // prettier-ignore
  });

  it('wrong password → AUTH (not retryable); APOP works with the greeting timestamp', async () => {
    const u = await newUser();
    const err = await Pop3Client.connect(plain(u, { auth: { user: u.user, password: 'wrong' } })).catch((e: unknown) => e); // prettier-ignore
    expect(err).toMatchObject({ code: 'AUTH', retryable: false, command: 'PASS' });
    const c = await Pop3Client.connect(plain(u, { auth: { ...u, method: 'apop' } }));
    await c.noop();
    await c.quit();
  });

  it('a cut connection mid-RETR and a stalled one fail fast and retryable', async () => {
    const u = await newUser();
    await dc.save(u.user, 'INBOX', base64Attachment(3_000_000));
    const proxy = await startProxy({ targetHost: dc.host, targetPort: dc.ports.pop3 });
    try {
      const c = await Pop3Client.connect(plain(u, { port: proxy.port }));
      proxy.setMode('slow', { chunkSize: 16_384, delayMs: 2 });
      const got = c.retr(1);
      await waitFor(() => proxy.connections() === 1, { what: 'proxied session' });
      proxy.cutAll();
      await expect(got).rejects.toMatchObject({ code: 'CONNECTION', retryable: true });
      proxy.setMode('pass');
      const c2 = await Pop3Client.connect(plain(u, { port: proxy.port, timeoutMs: 500 }));
      proxy.setMode('stall');
      await expect(c2.noop()).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    } finally {
      proxy.setMode('pass');
      await proxy.close();
    }
  });

  it('fetches 2,000 small messages quickly (pipelined when advertised)', async () => {
    const u = await newUser();
    const raws = Array.from({ length: 2000 }, (_, i) =>
      crlf(`Subject: m${i}\n\n.body ${i}\n${'x'.repeat(2000)}\n`),
    );
    await dc.saveMany(u.user, 'INBOX', raws);
    const c = await Pop3Client.connect(plain(u));
    expect((await c.capa()).has('PIPELINING')).toBe(true);
    const t0 = performance.now();
    const uidl = await c.uidl();
    let i = 0;
    await c.retrMany(uidl.map((e) => e.n), (_n, raw) => void expect(raw.equals(raws[i++] as Buffer)).toBe(true)); // prettier-ignore
    const ms = performance.now() - t0;
    console.info(`pop3: UIDL + RETR of 2000 messages in ${ms.toFixed(0)} ms`);
    expect(i).toBe(2000);
    await c.quit();
  });
});
