// STARTTLS with a test certificate (clients verify it against the test CA) and AUTH (PLAIN/LOGIN)
// when configured: required, refused in plaintext, wrong passwords 535, passwords never logged.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import {
  makeMessage,
  RawSmtp,
  startSmtpBed,
  stripFirstReceived,
  swaks,
  type SmtpBed,
} from '../harness/smtp-clients.js';
import { makeTestCa, type TestCa } from '../harness/tls-ca.js';
import { waitFor } from '../harness/wait.js';

const PASSWORD = 'pw-Zq81-never-logged';

describe('smtp listener: STARTTLS and AUTH', () => {
  let bed: SmtpBed;
  let ca: TestCa;
  let caPem: Buffer;
  const logLines: string[] = [];
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mi-smtp-tls-'));
    ca = await makeTestCa(dir);
    caPem = await readFile(ca.caFile);
    const out = new PassThrough();
    out.on('data', (d: Buffer) => logLines.push(d.toString('utf8')));
    const log = createLogger({ level: 'debug', destination: out });
    bed = await startSmtpBed(
      {
        tls: { certFile: ca.certFile, keyFile: ca.keyFile },
        auth: { required: true, users: [{ user: 'relay', password: PASSWORD }] },
      },
      { log, dir },
    );
  });
  afterAll(async () => {
    await bed.close();
  });

  it('offers STARTTLS, hides AUTH until TLS, and requires AUTH before MAIL', async () => {
    const s = await RawSmtp.open(bed.port);
    await s.reply();
    const ehlo = await s.cmd('EHLO c.test');
    expect(ehlo.lines).toContain('STARTTLS');
    expect((await s.cmd('AUTH PLAIN AHJlbGF5AHg=')).code).toBe(538);
    expect((await s.cmd('MAIL FROM:<a@c.test>')).code).toBe(530);
    expect((await s.cmd('STARTTLS')).code).toBe(220);
    const tls = await s.startTls({ ca: caPem });
    expect(tls.authorized).toBe(true);
    const ehlo2 = await s.cmd('EHLO c.test');
    expect(ehlo2.lines.some((l) => /^AUTH .*PLAIN/.test(l))).toBe(true);
    const bad = Buffer.from(`\0relay\0wrong-${PASSWORD}`).toString('base64');
    expect((await s.cmd(`AUTH PLAIN ${bad}`)).code).toBe(535);
    const good = Buffer.from(`\0relay\0${PASSWORD}`).toString('base64');
    expect((await s.cmd(`AUTH PLAIN ${good}`)).code).toBe(235);
    const { raw, token } = makeMessage({ to: 'u@example.test' });
    expect((await s.send('a@c.test', ['u@example.test'], raw)).code).toBe(250);
    s.end();
    await waitFor(() => bed.handled.some((h) => h.raw.includes(token)));
    const got = bed.handled.find((h) => h.raw.includes(token))!;
    expect(got.raw.toString('latin1')).toMatch(
      /^Received: from c\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test with ESMTPSA id /,
    );
    expect(stripFirstReceived(got.raw).equals(raw)).toBe(true);
  });

  it('nodemailer with requireTLS verifies the certificate against the test CA and logs in (LOGIN)', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: bed.port,
      requireTLS: true,
      tls: { ca: caPem, servername: 'localhost' },
      auth: { user: 'relay', pass: PASSWORD },
      authMethod: 'LOGIN',
    });
    const { raw, token } = makeMessage({ to: 'reply+5@reply.test' });
    const info = await t.sendMail({ envelope: { from: 'a@c.test', to: ['reply+5@reply.test'] }, raw });
    expect(info.response).toMatch(/^250/);
    await waitFor(() => bed.handled.some((h) => h.raw.includes(token)));
    t.close();
    const untrusted = nodemailer.createTransport({
      host: '127.0.0.1',
      port: bed.port,
      requireTLS: true,
      auth: { user: 'relay', pass: PASSWORD },
    });
    await expect(
      untrusted.sendMail({ envelope: { from: 'a@c.test', to: ['u@example.test'] }, raw }),
    ).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
    untrusted.close();
  });

  it('swaks with STARTTLS and AUTH PLAIN; wrong password fails', async () => {
    const base = [
      '--server',
      `127.0.0.1:${bed.port}`,
      '--from',
      'a@c.test',
      '--to',
      'u@example.test',
      '--tls',
      '--auth',
      'PLAIN',
    ];
    const ok = await swaks([...base, '--auth-user', 'relay', '--auth-password', PASSWORD]);
    expect(ok.code, ok.stdout.toString()).toBe(0);
    const bad = await swaks([...base, '--auth-user', 'relay', '--auth-password', 'nope']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout.toString()).toMatch(/535 5\.7\.8/);
  });

  it('never logs the password', () => {
    const all = logLines.join('');
    expect(all).toContain('auth-failed');
    expect(all).toContain('auth-ok');
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(Buffer.from(`\0relay\0${PASSWORD}`).toString('base64'));
    expect(all).not.toContain(Buffer.from(PASSWORD).toString('base64'));
  });
});

describe('smtp listener: config guards', () => {
  it('refuses required AUTH without TLS or allowInsecure; plaintext AUTH works with allowInsecure', async () => {
    await expect(
      startSmtpBed({ auth: { required: true, users: [{ user: 'u', password: 'p' }] } }),
    ).rejects.toThrow(/push\.auth/);
    const bed = await startSmtpBed({
      auth: { required: true, allowInsecure: true, users: [{ user: 'u', password: 'p' }] },
    });
    try {
      const s = await RawSmtp.open(bed.port);
      await s.reply();
      const ehlo = await s.cmd('EHLO c.test');
      expect(ehlo.lines).not.toContain('STARTTLS');
      expect((await s.cmd(`AUTH PLAIN ${Buffer.from('\0u\0p').toString('base64')}`)).code).toBe(235);
      s.end();
    } finally {
      await bed.close();
    }
  });
});
