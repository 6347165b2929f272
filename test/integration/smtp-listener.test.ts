// The push listener with real clients (nodemailer, swaks, raw sockets): byte-identical delivery after
// the Received: header, recipient policy (550, never a relay), size (552), bare-LF policy, 451 on an
// internal failure, and graceful shutdown.
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeMessage,
  RawSmtp,
  startSmtpBed,
  stripFirstReceived,
  swaks,
  type SmtpBed,
} from '../harness/smtp-clients.js';
import { waitFor } from '../harness/wait.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('smtp push listener', () => {
  let bed: SmtpBed;
  beforeAll(async () => {
    bed = await startSmtpBed({ maxSize: 64 * 1024, recipients: ['ops@special.test'] });
  });
  afterAll(async () => {
    await bed.close();
  });

  const handledWith = async (token: string) => {
    await waitFor(() => bed.handled.some((h) => h.raw.includes(token)), { what: `handler got ${token}` });
    return bed.handled.filter((h) => h.raw.includes(token));
  };

  it('nodemailer: 250, then the handler gets the exact bytes after one Received: header', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: bed.port,
      secure: false,
      ignoreTLS: true,
    });
    const raw = Buffer.concat([
      Buffer.from(
        'From: a@client.test\r\nTo: x@example.test\r\nSubject: bytes\r\nMessage-ID: <nm1@client.test>\r\n\r\n',
      ),
      Buffer.from('.leading dot\r\n..two\r\n8bit: '),
      Buffer.from([0xe9, 0xff, 0x80]),
      Buffer.from('\r\nend\r\n'),
    ]);
    const info = await t.sendMail({ envelope: { from: 'a@client.test', to: ['x@example.test'] }, raw });
    expect(info.response).toMatch(/^250 .*queued as /);
    const [got] = await handledWith('nm1@client.test');
    expect(got).toBeDefined();
    const head = got!.raw.toString('latin1').split('\r\n').slice(0, 3).join('\n');
    expect(head).toMatch(
      /^Received: from \S+ \(\[127\.0\.0\.1\]\)\n\tby mx\.test with ESMTP id \S+\n\tfor <x@example\.test>; \w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000$/,
    );
    expect(sha(stripFirstReceived(got!.raw))).toBe(sha(raw));
    expect(got!.rcpt).toEqual(['x@example.test']);
    t.close();
  });

  it('nodemailer: thousands of lines that start with a dot (sent dot-stuffed) arrive byte-identical', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: bed.port,
      secure: false,
      ignoreTLS: true,
    });
    const lines = Array.from({ length: 6000 }, (_, i) => ['.', '..x', '.y', 'z.'][i % 4]);
    const raw = Buffer.from(
      `From: a@client.test\r\nTo: x@example.test\r\nSubject: dots\r\nMessage-ID: <dots1@client.test>\r\n\r\n${lines.join('\r\n')}\r\n`,
    );
    expect(raw.length).toBeLessThan(64 * 1024);
    const info = await t.sendMail({ envelope: { from: 'a@client.test', to: ['x@example.test'] }, raw });
    expect(info.response).toMatch(/^250 /);
    const [got] = await handledWith('dots1@client.test');
    expect(sha(stripFirstReceived(got!.raw))).toBe(sha(raw));
    t.close();
  });

  it('swaks: accepted for a domain and for a route pattern; byte-identical', async () => {
    for (const to of ['someone@example.test', 'reply+77@reply.test', 'ops@special.test']) {
      const { raw, token } = makeMessage({ to });
      // swaks terminates the data with its own CRLF, so it is given the message without its last one
      const input = raw.subarray(0, raw.length - 2);
      const res = await swaks(
        ['--server', `127.0.0.1:${bed.port}`, '--to', to, '--from', 's@client.test', '--data', '-'],
        input,
      );
      expect(res.code, res.stdout.toString()).toBe(0);
      const [got] = await handledWith(token);
      expect(sha(stripFirstReceived(got!.raw))).toBe(sha(raw));
    }
  });

  it('refuses unknown recipients with 550 and relay attempts with 550 5.7.1', async () => {
    const s = await RawSmtp.open(bed.port);
    expect((await s.reply()).code).toBe(220);
    expect((await s.cmd('EHLO c.test')).code).toBe(250);
    expect((await s.cmd('MAIL FROM:<a@client.test>')).code).toBe(250);
    const cases: Array<[string, RegExp]> = [
      ['nobody@reply.test', /^5\.1\.1/],
      ['victim@elsewhere.test', /^5\.7\.1 Relaying denied/],
      ['victim%elsewhere.test@example.test', /^5\.7\.1/],
      ['@example.test:victim@elsewhere.test', /^5\.7\.1/],
      ['victim@example.test.elsewhere.test', /^5\.7\.1/],
    ];
    for (const [rcpt, text] of cases) {
      const r = await s.cmd(`RCPT TO:<${rcpt}>`);
      expect(r.code, rcpt).toBe(550);
      expect(r.lines[0], rcpt).toMatch(text);
    }
    expect((await s.cmd('DATA')).code).toBe(503);
    s.end();
    const res = await swaks([
      '--server',
      `127.0.0.1:${bed.port}`,
      '--to',
      'victim@gmail.com',
      '--from',
      'x@client.test',
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stdout.toString()).toMatch(/<\*\* 550 5\.7\.1 Relaying denied/);
  });

  it('advertises SIZE, refuses MAIL FROM SIZE= over it, and answers 552 to a larger body', async () => {
    const s = await RawSmtp.open(bed.port);
    await s.reply();
    const ehlo = await s.cmd('EHLO c.test');
    expect(ehlo.lines).toContain(`SIZE ${64 * 1024}`);
    expect(ehlo.lines.some((l) => /STARTTLS|AUTH/.test(l))).toBe(false);
    expect((await s.cmd(`MAIL FROM:<a@client.test> SIZE=${64 * 1024 + 1}`)).code).toBe(552);
    const big = makeMessage({ to: 'big@example.test', bodyBytes: 200 * 1024 });
    const r = await s.send('a@client.test', ['big@example.test'], big.raw);
    expect(r.code).toBe(552);
    // the session stays usable and the next message goes through
    const small = makeMessage({ to: 'small@example.test' });
    expect((await s.send('a@client.test', ['small@example.test'], small.raw)).code).toBe(250);
    s.end();
    await handledWith(small.token);
    expect(bed.handled.some((h) => h.raw.includes(big.token))).toBe(false);
  });

  it('health reports listening and the last accepted message', () => {
    const h = bed.listener.health();
    expect(h).toMatchObject({ kind: 'smtp', connected: true });
    expect(h.lastSuccessAt).toBeGreaterThan(0);
  });
});

describe('smtp push listener: bare LF and internal failures', () => {
  it('bareLf: reject answers 550 5.6.0 and stores nothing; accept keeps the bytes', async () => {
    const rej = await startSmtpBed({ bareLf: 'reject' });
    const acc = await startSmtpBed({ bareLf: 'accept' });
    try {
      const raw = Buffer.from('Subject: lf\nMessage-ID: <lf1@c.test>\n\nbare lf body\r\nok\r\n');
      for (const b of [rej, acc]) {
        const s = await RawSmtp.open(b.port);
        await s.reply();
        await s.cmd('EHLO c.test');
        s.write('MAIL FROM:<a@c.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n');
        for (const want of [250, 250, 354]) expect((await s.reply()).code).toBe(want);
        s.write(Buffer.concat([raw, Buffer.from('.\r\n')]));
        const r = await s.reply();
        if (b === rej) {
          expect(r.code).toBe(550);
          expect(r.lines[0]).toMatch(/^5\.6\.0/);
        } else {
          expect(r.code).toBe(250);
          await waitFor(() => b.handled.length === 1);
          expect(stripFirstReceived(b.handled[0]!.raw).equals(raw)).toBe(true);
        }
        s.end();
      }
      expect(rej.app.store.counts().byStatus).toEqual({});
    } finally {
      await rej.close();
      await acc.close();
    }
  });

  it('keeps the bytes of a client that sends its message in the same write as DATA, before the 354', async () => {
    // The message then reaches the data stream before the listener's reader is attached (it is
    // set up after the 354 is answered): the stream must hold it, not drop it.
    const b = await startSmtpBed();
    try {
      const s = await RawSmtp.open(b.port);
      await s.reply();
      await s.cmd('EHLO c.test');
      const { raw, token } = makeMessage({ to: 'u@example.test' });
      s.write(
        Buffer.concat([
          Buffer.from('MAIL FROM:<a@c.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n'),
          raw,
          Buffer.from('.\r\n'),
        ]),
      );
      for (const want of [250, 250, 354, 250]) expect((await s.reply()).code).toBe(want);
      s.end();
      await waitFor(() => b.handled.some((h) => h.raw.includes(token)));
      expect(stripFirstReceived(b.handled[0]!.raw).equals(raw)).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('answers 451 to a failure thrown before intake returns a promise, and keeps serving', async () => {
    const b = await startSmtpBed();
    try {
      const intake = b.app.intake;
      const real = intake.receiveStream.bind(intake);
      let fail = true;
      intake.receiveStream = (stream, req) => {
        if (!fail) return real(stream, req);
        throw new Error('thrown synchronously');
      };
      const { raw, token } = makeMessage({ to: 'u@example.test' });
      expect(await RawSmtp.sendOnce(b.port, 'a@c.test', ['u@example.test'], raw)).toBe(451);
      fail = false;
      expect(await RawSmtp.sendOnce(b.port, 'a@c.test', ['u@example.test'], raw)).toBe(250);
      await waitFor(() => b.handled.some((h) => h.raw.includes(token)));
      expect(b.handled).toHaveLength(1);
    } finally {
      await b.close();
    }
  });

  it('answers 451 when the spool cannot write (ENOSPC) and 250 again once it can', async () => {
    const b = await startSmtpBed();
    try {
      const spool = b.app.spool;
      const real = spool.writeStream.bind(spool);
      let fail = true;
      spool.writeStream = async (stream, opts) => {
        if (!fail) return real(stream, opts);
        stream.resume();
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      };
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: b.port, ignoreTLS: true });
      const { raw, token } = makeMessage({ to: 'u@example.test' });
      const env = { from: 'a@c.test', to: ['u@example.test'] };
      await expect(t.sendMail({ envelope: env, raw })).rejects.toMatchObject({ responseCode: 451 });
      expect(b.listener.health().lastError).toMatch(/no space/);
      fail = false;
      expect((await t.sendMail({ envelope: env, raw })).response).toMatch(/^250/);
      await waitFor(() => b.handled.some((h) => h.raw.includes(token)));
      expect(b.handled).toHaveLength(1);
      t.close();
    } finally {
      await b.close();
    }
  });

  it('close(): the transaction in flight gets 250, new connections get 421', async () => {
    const b = await startSmtpBed();
    const s = await RawSmtp.open(b.port);
    await s.reply();
    await s.cmd('EHLO c.test');
    const { raw, token } = makeMessage({ to: 'u@example.test' });
    s.write('MAIL FROM:<a@c.test>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n');
    for (const want of [250, 250, 354]) expect((await s.reply()).code).toBe(want);
    s.write(raw.subarray(0, 50)); // the message is half sent when the shutdown starts
    const closing = b.listener.close(10_000);
    const late = await RawSmtp.open(b.port);
    expect((await late.reply()).code).toBe(421);
    s.write(Buffer.concat([raw.subarray(50), Buffer.from('.\r\n')]));
    expect((await s.reply()).code).toBe(250);
    await closing;
    expect(b.listener.health().connected).toBe(false);
    await waitFor(() => b.handled.some((h) => h.raw.includes(token)));
    await b.app.close();
  });
});
