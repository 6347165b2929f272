// Self-tests of the test harness: Dovecot byte-exact round trip, proxy pass/cut, Postfix relaying.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { startPostfixRelay } from '../harness/postfix.js';
import { startProxy } from '../harness/proxy.js';
import { waitFor } from '../harness/wait.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Reads from a socket until `pred(all bytes so far)` holds. */
async function readUntil(sock: Socket, pred: (s: string) => boolean): Promise<string> {
  let acc = '';
  sock.on('error', () => undefined);
  sock.on('data', (d: Buffer) => (acc += d.toString('latin1')));
  await waitFor(() => pred(acc), { what: 'socket data' });
  return acc;
}

describe('dovecot harness', () => {
  let dc: Dovecot;
  beforeAll(async () => {
    dc = await startDovecot();
  });
  afterAll(async () => {
    await dc.close();
  });

  it('saves and lists byte-exactly (8-bit bytes, leading dot), with flags', async () => {
    const u = uniqueUser();
    await dc.addUser(u.user, u.password);
    const raw = Buffer.concat([
      Buffer.from('From: a@example.com\r\nSubject: t\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlatin1: '),
      Buffer.from([0xe9, 0xe8, 0xff, 0x00, 0x80]),
      Buffer.from('\r\nend\r\n'),
    ]);
    const uid = await dc.save(u.user, 'INBOX', raw, { flags: ['\\Seen'] });
    const list = await dc.list(u.user, 'INBOX');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ uid, size: raw.length, sha256: sha(raw) });
    expect(list[0]?.flags).toContain('\\Seen');
    expect((await dc.read(u.user, 'INBOX', uid)).equals(raw)).toBe(true);
  });

  it('saveMany keeps input order; resetUidValidity changes UIDVALIDITY, keeps mail', async () => {
    const u = uniqueUser();
    await dc.addUser(u.user, u.password);
    const raws = Array.from({ length: 500 }, (_, i) => Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    await dc.saveMany(u.user, 'Bulk', raws);
    const list = await dc.list(u.user, 'Bulk');
    expect(list.map((m) => m.sha256)).toEqual(raws.map(sha));
    expect(await dc.mailboxes(u.user)).toContain('Bulk');
    const before = await dc.uidValidity(u.user, 'Bulk');
    const after = await dc.resetUidValidity(u.user, 'Bulk');
    expect(after).not.toBe(before);
    expect((await dc.list(u.user, 'Bulk')).map((m) => m.sha256)).toEqual(raws.map(sha));
  });

  it('pop3s verifies with the harness CA and is rejected without it', async () => {
    const ca = readFileSync(dc.caFile);
    const ok = tlsConnect({ host: dc.host, port: dc.ports.pop3s, ca, servername: 'localhost' });
    expect(await readUntil(ok, (s) => s.includes('\r\n'))).toMatch(/^\+OK/);
    expect(ok.authorized).toBe(true);
    ok.destroy();
    const bad = tlsConnect({ host: dc.host, port: dc.ports.pop3s, servername: 'localhost' });
    const err = await new Promise<Error>((resolve) => bad.once('error', resolve));
    expect(err.message).toMatch(/self[- ]signed|unable to (get|verify)/i);
  });

  it('serves POP3 with the CA-signed cert and survives restart', async () => {
    const sock = connect({ host: dc.host, port: dc.ports.pop3 });
    expect(await readUntil(sock, (s) => s.includes('\r\n'))).toMatch(/^\+OK/);
    sock.destroy();
    await dc.restart();
    const again = connect({ host: dc.host, port: dc.ports.pop3 });
    expect(await readUntil(again, (s) => s.includes('\r\n'))).toMatch(/^\+OK/);
    again.destroy();
  });
});

describe('proxy harness', () => {
  it('passes bytes, then cuts live connections', async () => {
    const echo: Server = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const addr = echo.address();
    const proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: typeof addr === 'object' && addr ? addr.port : 0 }); // prettier-ignore
    const sock = connect({ host: '127.0.0.1', port: proxy.port });
    let closed = false;
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    sock.write('hello');
    expect(await readUntil(sock, (s) => s === 'hello')).toBe('hello');
    await waitFor(() => proxy.connections() === 1, { what: 'one connection' });
    let echoed = '';
    sock.on('data', (d: Buffer) => (echoed += d.toString('latin1')));
    proxy.setMode('slow', { chunkSize: 1, delayMs: 1 });
    sock.write('slow-');
    proxy.setMode('pass');
    sock.write('fast');
    await waitFor(() => echoed === 'slow-fast', { what: 'ordered echo across slow → pass' });
    proxy.setMode('stall');
    sock.write('held');
    proxy.setMode('pass');
    await waitFor(() => echoed === 'slow-fastheld', { what: 'held bytes flushed on pass' });
    proxy.cutAll();
    await waitFor(() => closed, { what: 'client closed by cut' });
    expect(proxy.connections()).toBe(0);
    await proxy.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });
});

describe('postfix harness', () => {
  it('relays a message to a sink', async () => {
    let received = '';
    const sink = createServer((s) => {
      s.write('220 sink ESMTP\r\n');
      s.on('error', () => undefined);
      let inData = false;
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (inData) {
            if (line === '.') {
              inData = false;
              s.write('250 ok\r\n');
            } else received += line + '\n';
          } else if (/^DATA/i.test(line)) {
            inData = true;
            s.write('354 go\r\n');
          } else if (/^QUIT/i.test(line)) s.end('221 bye\r\n');
          else s.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const addr = sink.address();
    const relay = await startPostfixRelay({ relayHost: '127.0.0.1', relayPort: typeof addr === 'object' && addr ? addr.port : 0 }); // prettier-ignore
    try {
      const c = connect({ host: '127.0.0.1', port: relay.port });
      const script = ['EHLO t', 'MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.org>', 'DATA'];
      await readUntil(c, (s) => s.startsWith('220'));
      c.write(script.join('\r\n') + '\r\n');
      await readUntil(c, (s) => s.includes('354'));
      c.write('Subject: relayed\r\n\r\nhello sink\r\n.\r\nQUIT\r\n');
      await readUntil(c, (s) => /250 2\.0\.0 Ok: queued/.test(s));
      c.destroy();
      await waitFor(() => received.includes('hello sink'), {
        timeoutMs: 15_000,
        what: 'relayed mail at sink',
      });
      await waitFor(async () => (await relay.queue()).length === 0, { what: 'empty queue' });
    } finally {
      await relay.stop();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
