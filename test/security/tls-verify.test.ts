// TLS certificates are verified by default: `mailintake check` against the harness Dovecot (a cert
// signed by a private test CA) fails for IMAPS, IMAP STARTTLS, POP3S and POP3 STLS without `caFile`,
// with an error that names the certificate problem, and succeeds once `caFile` trusts that CA (given
// relative to the config file, like every other path in it).
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../harness/dovecot.js';
import { HAVE_CLI, runCli } from '../fault/kit.js';

let dc: Dovecot;
let dir = '';
beforeAll(async () => {
  dc = await startDovecot({ users: [{ user: 'tls-user', password: 'tls-pw-1' }] });
  dir = await mkdtemp(join(tmpdir(), 'mi-sec-tls-'));
  await copyFile(dc.caFile, join(dir, 'test-ca.pem'));
});
afterAll(async () => {
  await dc?.close();
  await rm(dir, { recursive: true, force: true });
});

function sources(tls: Record<string, unknown>): Record<string, unknown> {
  const auth = { host: '127.0.0.1', user: 'tls-user', password: 'tls-pw-1', tls };
  return {
    imaps: { imap: { ...auth, port: dc.ports.imaps, secure: true }, idle: false },
    imapStarttls: { imap: { ...auth, port: dc.ports.imap, secure: false, starttls: true }, idle: false },
    pop3s: { pop3: { ...auth, port: dc.ports.pop3s, secure: true } },
    pop3Stls: { pop3: { ...auth, port: dc.ports.pop3, secure: false, starttls: true } },
  };
}

async function check(name: string, tls: Record<string, unknown>) {
  const cfg = join(dir, `${name}.yaml`);
  await writeFile(
    cfg,
    JSON.stringify({
      store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
      log: { level: 'warn' },
      sources: sources(tls),
      routes: [{ name: 'all', handlers: [], action: 'drop' }],
    }),
  );
  const r = await runCli(['check', '-c', cfg], {}, 60_000);
  const json = r.output.slice(r.output.indexOf('{\n'));
  const report = JSON.parse(json.slice(0, json.lastIndexOf('\n}') + 2)) as {
    checks: Record<string, { ok: boolean; error?: string }>;
  };
  return { code: r.code, checks: report.checks, output: r.output };
}

describe.skipIf(!HAVE_CLI)('TLS verification is on by default', () => {
  it('without caFile every TLS path fails with a certificate error (exit 4)', async () => {
    const r = await check('nocafile', { servername: 'localhost' });
    expect(r.code, r.output).toBe(4);
    for (const name of ['imaps', 'imapStarttls', 'pop3s', 'pop3Stls']) {
      const c = r.checks[name];
      expect(c?.ok, `${name}: ${JSON.stringify(c)}`).toBe(false);
      expect(c?.error, name).toMatch(/certificate|self[- ]signed|unable to verify/i);
    }
  }, 90_000);

  it('with caFile (relative to the config file) all four verify and log in', async () => {
    const r = await check('cafile', { caFile: './test-ca.pem', servername: 'localhost' });
    for (const name of ['imaps', 'imapStarttls', 'pop3s', 'pop3Stls']) {
      expect(r.checks[name]?.ok, `${name}: ${JSON.stringify(r.checks[name])}`).toBe(true);
    }
    expect(r.code).toBe(0);
  }, 90_000);

  it('a wrong servername fails even with the right CA (hostname is checked)', async () => {
    const r = await check('badname', { caFile: './test-ca.pem', servername: 'not-the-server.example' });
    for (const name of ['imaps', 'pop3s']) {
      expect(r.checks[name]?.ok, name).toBe(false);
      expect(r.checks[name]?.error, name).toMatch(/altnames|hostname|certificate/i);
    }
  }, 90_000);
});
