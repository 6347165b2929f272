import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Pop3Client,
  Pop3Error,
  Pop3SizeError,
  type Pop3ClientOptions,
} from '../../../../src/sources/pop3/client.js';
import { bytewise, splitAt, startFakePop3, type FakePop3, type FakePop3Options } from './fake-pop3-server.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');
const MESSAGES = [
  crlf('Subject: one\n\n.leading dot\n..two dots\n.\nend\n'),
  Buffer.concat([
    crlf('Subject: latin1\n\ncaf'),
    Buffer.from([0xe9, 0x0d, 0x0a, 0xff, 0x00, 0x80, 0x0d, 0x0a]),
  ]),
  Buffer.alloc(0),
  crlf('.\n.\n..\n.\n'),
];

let servers: FakePop3[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function fake(o: FakePop3Options = {}): Promise<FakePop3> {
  const s = await startFakePop3({ messages: MESSAGES, ...o });
  servers.push(s);
  return s;
}

function opts(port: number, extra: Partial<Pop3ClientOptions> = {}): Pop3ClientOptions {
  return { host: '127.0.0.1', port, tls: 'none', auth: { user: 'alice', password: 'secret' }, timeoutMs: 2000, ...extra }; // prettier-ignore
}

async function fetchAll(c: Pop3Client): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; n <= MESSAGES.length; n++) out.push(await c.retr(n));
  return out;
}

describe('Pop3Client against a fake server', () => {
  it('every response split at every byte offset: no hang, byte-exact', async () => {
    const longest = MESSAGES.reduce((a, m) => Math.max(a, m.length), 0) + 40;
    for (let k = 1; k <= longest; k++) {
      const s = await fake({ split: splitAt(k) });
      const c = await Pop3Client.connect(opts(s.port));
      expect(await fetchAll(c)).toEqual(MESSAGES);
      expect((await c.uidl()).map((e) => e.uid)).toEqual(['uid-1', 'uid-2', 'uid-3', 'uid-4']);
      await c.quit();
    }
  });

  it('one byte per write, and bare-LF servers', async () => {
    const s = await fake({ split: bytewise });
    const c = await Pop3Client.connect(opts(s.port));
    expect(await fetchAll(c)).toEqual(MESSAGES);
    expect(await c.list()).toEqual(MESSAGES.map((m, i) => ({ n: i + 1, size: m.length })));
    await c.quit();
    const lfMsg = Buffer.from('Subject: lf\n\n.dot\nbody\n', 'latin1');
    const lf = await fake({ messages: [lfMsg], lineEnding: 'lf', split: splitAt(3) });
    const c2 = await Pop3Client.connect(opts(lf.port));
    expect(await c2.retr(1)).toEqual(lfMsg);
    await c2.quit();
  });

  it('STAT, LIST n, UIDL n, TOP, DELE, RSET, NOOP, QUIT', async () => {
    const s = await fake();
    const c = await Pop3Client.connect(opts(s.port));
    expect(await c.stat()).toEqual({ count: 4, size: MESSAGES.reduce((a, m) => a + m.length, 0) });
    expect(await c.listOne(2)).toEqual({ n: 2, size: MESSAGES[1]?.length });
    expect(await c.uidlOne(3)).toEqual({ n: 3, uid: 'uid-3' });
    expect((await c.top(1, 0)).toString()).toBe('Subject: one\r\n\r\n');
    await c.dele(2);
    await c.noop();
    await c.rset();
    await c.quit();
    expect(c.closed).toBe(true);
    await expect(c.noop()).rejects.toMatchObject({ code: 'CLOSED' });
    expect(s.received).toEqual(['USER alice', 'PASS secret', 'STAT', 'LIST 2', 'UIDL 3', 'TOP 1 0', 'DELE 2', 'NOOP', 'RSET', 'QUIT']); // prettier-ignore
  });

  it('APOP and XOAUTH2 (success and SASL error challenge)', async () => {
    const s = await fake({ accessToken: 'good' });
    const c = await Pop3Client.connect(
      opts(s.port, { auth: { user: 'alice', password: 'secret', method: 'apop' } }),
    );
    await c.quit();
    const x = await Pop3Client.connect(opts(s.port, { auth: { user: 'alice', accessToken: 'good' } }));
    await x.quit();
    const bad = Pop3Client.connect(opts(s.port, { auth: { user: 'alice', accessToken: 'bad' } }));
    await expect(bad).rejects.toMatchObject({ code: 'AUTH', retryable: false, command: 'AUTH' });
    expect(s.received).toContain('');
  });

  it('maps -ERR codes: [IN-USE] retryable, [AUTH] not', async () => {
    const inUse = await fake({ override: (v) => (v === 'PASS' ? '-ERR [IN-USE] locked\r\n' : undefined) });
    const e1 = await Pop3Client.connect(opts(inUse.port)).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(Pop3Error);
    expect(e1).toMatchObject({ code: 'IN_USE', retryable: true, command: 'PASS' });
    const s = await fake();
    const e2 = await Pop3Client.connect(opts(s.port, { auth: { user: 'alice', password: 'wrong' } })).catch((e: unknown) => e); // prettier-ignore
    expect(e2).toMatchObject({ code: 'AUTH', retryable: false });
    expect(String((e2 as Error).message)).not.toContain('wrong');
    const c = await Pop3Client.connect(opts(s.port));
    await expect(c.retr(99)).rejects.toMatchObject({ code: 'ERR', retryable: false });
    await c.noop(); // still usable
    await c.quit();
  });

  it('a server that never answers: rejects within the timeout, socket destroyed', async () => {
    const s = await fake({ override: (v) => (v === 'RETR' ? 'silent' : undefined) });
    const c = await Pop3Client.connect(opts(s.port, { timeoutMs: 300 }));
    const t0 = Date.now();
    await expect(c.retr(1)).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true, command: 'RETR' });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(c.closed).toBe(true);
    const mute = await fake({ split: () => [] });
    await expect(Pop3Client.connect(opts(mute.port, { timeoutMs: 300 }))).rejects.toMatchObject({ code: 'TIMEOUT' }); // prettier-ignore
  });

  it('connection closed mid-response rejects as retryable', async () => {
    const s = await fake({ override: (v) => (v === 'RETR' ? 'close' : undefined) });
    const c = await Pop3Client.connect(opts(s.port));
    await expect(c.retr(1)).rejects.toMatchObject({ code: 'CONNECTION', retryable: true });
  });

  it('size cap: Pop3SizeError, then the session is still usable', async () => {
    const big = Buffer.concat([crlf('Subject: big\n\n'), Buffer.alloc(10_000, 0x61), crlf('\n')]);
    const s = await fake({ messages: [big, MESSAGES[0] as Buffer], split: splitAt(100) });
    const c = await Pop3Client.connect(opts(s.port, { maxMessageBytes: 1000 }));
    const err = await c.retr(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Pop3SizeError);
    expect(err).toMatchObject({ code: 'SIZE', retryable: false, limit: 1000 });
    expect(await c.retr(2)).toEqual(MESSAGES[0]);
    await c.quit();
  });

  it('retrTo streams into a slow Writable with backpressure', async () => {
    const big = Buffer.concat([crlf('Subject: s\n\n'), Buffer.alloc(2_000_000, 0x2e), crlf('\n.x\n')]);
    const s = await fake({ messages: [big] });
    const c = await Pop3Client.connect(opts(s.port));
    const parts: Buffer[] = [];
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        parts.push(Buffer.from(chunk));
        setImmediate(cb);
      },
    });
    expect(await c.retrTo(1, out)).toBe(big.length);
    await new Promise<void>((resolve) => out.end(resolve));
    expect(Buffer.concat(parts).equals(big)).toBe(true);
    await c.quit();
  });

  it('pipelines RETRs when PIPELINING is advertised, and retrMany keeps order', async () => {
    const many = Array.from({ length: 200 }, (_, i) => crlf(`Subject: ${i}\n\n.body ${i}\n`));
    const s = await fake({ messages: many, capa: ['UIDL', 'PIPELINING'] });
    const c = await Pop3Client.connect(opts(s.port));
    await c.capa();
    const got: Buffer[] = [];
    await c.retrMany(
      many.map((_, i) => i + 1),
      (_n, raw) => void got.push(raw),
      32,
    );
    expect(got).toEqual(many);
    await c.quit();
  });

  it('never logs secrets', async () => {
    const s = await fake({ accessToken: 'tok-secret' });
    const logged: string[] = [];
    const log = (o: object, m?: string): void => void logged.push(JSON.stringify(o) + (m ?? ''));
    const logger = { debug: log, info: log, warn: log, error: log };
    const c = await Pop3Client.connect(opts(s.port, { logger }));
    await c.xoauth2('alice', 'tok-secret');
    await c.quit();
    const all = logged.join('\n');
    expect(all).toContain('PASS');
    expect(all).not.toContain('secret');
  });
});
