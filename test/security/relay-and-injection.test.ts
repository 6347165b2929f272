// No open relay (RCPT to any domain we do not serve gets 550 and nothing reaches a handler), and the
// command handler is immune to shell injection: hostile subjects, names, filenames and Message-IDs
// (`$(...)`, backticks, `;`, `|`, `&&`, newlines) reach the program only on stdin, never in argv or
// the environment, and nothing in them is ever executed, even when the configured program is a shell.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { RawSmtp, makeMessage, startSmtpBed, type SmtpBed } from '../harness/smtp-clients.js';
import { waitFor } from '../harness/wait.js';
import { tempDir, testApp } from '../helpers/app.js';

describe('no open relay', () => {
  let bed: SmtpBed;
  beforeAll(async () => {
    bed = await startSmtpBed({ domains: ['example.test'] });
  });
  afterAll(async () => {
    await bed.close();
  });

  const foreign = [
    'victim@foreign.test',
    'victim@EXAMPLE.TEST.evil.test',
    'victim@sub.example.test',
    'victim@example.test.',
    'victim@[127.0.0.1]',
    '@example.test:victim@foreign.test',
    'victim@foreign.test@example.test',
    'postmaster@foreign.test',
  ];
  it.each(foreign)('RCPT TO:<%s> → 550, nothing handled', async (rcpt) => {
    const s = await RawSmtp.open(bed.port);
    try {
      expect((await s.reply()).code).toBe(220);
      expect((await s.cmd('EHLO relay-probe.test')).code).toBe(250);
      expect((await s.cmd('MAIL FROM:<spammer@spam.test>')).code).toBe(250);
      const r = await s.cmd(`RCPT TO:<${rcpt}>`);
      expect(r.code, `${rcpt}: ${r.lines.join(' ')}`).toBeGreaterThanOrEqual(500);
      expect(r.code).toBeLessThan(600);
      // DATA without an accepted recipient must not be taken either
      const d = await s.cmd('DATA');
      expect(d.code).not.toBe(354);
    } finally {
      s.destroy();
    }
  });

  it('a foreign recipient mixed with a local one: only the local one is accepted and handled', async () => {
    const s = await RawSmtp.open(bed.port);
    await s.reply();
    await s.cmd('EHLO relay-probe.test');
    const m = makeMessage({ to: 'ok@example.test' });
    expect((await s.cmd('MAIL FROM:<a@client.test>')).code).toBe(250);
    expect((await s.cmd('RCPT TO:<victim@foreign.test>')).code).toBe(550);
    expect((await s.cmd('RCPT TO:<ok@example.test>')).code).toBe(250);
    expect((await s.cmd('DATA')).code).toBe(354);
    s.write(Buffer.concat([m.raw, Buffer.from('.\r\n')]));
    expect((await s.reply()).code).toBe(250);
    s.destroy();
    await waitFor(() => bed.handled.some((h) => h.raw.includes(m.token)), { what: 'handled' });
    const got = bed.handled.filter((h) => h.raw.includes(m.token));
    expect(got.map((h) => h.rcpt)).toEqual([['ok@example.test']]);
    expect(bed.handled.some((h) => h.rcpt.some((r) => !r.endsWith('@example.test')))).toBe(false);
  });
});

const HOSTILE = [
  '$(touch {M}/dollar)',
  '`touch {M}/backtick`',
  '; touch {M}/semicolon',
  '| touch {M}/pipe',
  '&& touch {M}/and',
  "'; touch {M}/quote; '",
  '"; touch {M}/dquote; "',
];

describe('command handler: no shell injection', () => {
  let app: App | null = null;
  afterAll(async () => {
    await app?.close();
  });

  it('hostile header values never execute and never reach argv/env', async () => {
    const dir = tempDir('mi-sec-cmd-');
    const marks = join(dir, 'marks');
    const out = join(dir, 'out');
    const probe = join(dir, 'probe.mjs');
    // Records argv, MAILINTAKE_* env and stdin; a program that is itself careless would be fine too.
    writeFileSync(
      probe,
      `import { writeFileSync, mkdirSync } from 'node:fs';
const chunks = []; for await (const c of process.stdin) chunks.push(c);
mkdirSync(${JSON.stringify(out)}, { recursive: true });
writeFileSync(${JSON.stringify(out)} + '/' + process.env.MAILINTAKE_SHA256 + '.' + process.argv[2] + '.json', JSON.stringify({ argv: process.argv.slice(2), env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MAILINTAKE_'))), stdin: Buffer.concat(chunks).length }));
`,
    );
    app = testApp(dir, {
      pipeline: { maxAttempts: 1, stripReplies: true },
      routes: [{ name: 'all', handlers: ['raw', 'json', 'shell'] }],
      handlers: {
        raw: { command: { argv: [process.execPath, probe, 'raw'], input: 'raw', timeout: '20s' } },
        json: { command: { argv: [process.execPath, probe, 'json'], input: 'json', timeout: '20s' } },
        // a shell the operator chose: message data still only on stdin, read into a file, never eval'd
        shell: {
          command: {
            argv: ['/bin/sh', '-c', 'cat > "$OUT/$MAILINTAKE_SHA256.sh.eml"'],
            env: { OUT: out },
            timeout: '20s',
          },
        },
      },
    });
    app.pipeline.start();
    const ids: number[] = [];
    for (const [i, h] of HOSTILE.entries()) {
      const v = h.replaceAll('{M}', marks);
      const raw = Buffer.from(
        `From: "${v}" <a@client.test>\r\nTo: x@example.test\r\nSubject: ${v}\r\nMessage-ID: <${i}.${v.replace(/[<>\s]/g, '')}@x>\r\n` +
          `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${v}\r\n` +
          `--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="${v.replace(/"/g, '')}.sh"\r\n\r\n${v}\r\n--b--\r\n`,
      );
      const r = await app.intake.receive(raw, {
        envelope: { mailFrom: `${i}@client.test`, rcptTo: ['x@example.test'] },
        source: { kind: 'replay', source: 'replay', positionKey: `inj:${i}` },
      });
      ids.push(r.row.id);
    }
    await app.pipeline.idle({ retries: false });
    for (const id of ids) expect(app.store.get(id)?.status, String(id)).toBe('delivered');
    expect(existsSync(marks), `something executed: ${existsSync(marks) ? readdirSync(marks).join(',') : ''}`).toBe(false); // prettier-ignore
    const files = readdirSync(out);
    expect(files.filter((f) => f.endsWith('.sh.eml'))).toHaveLength(HOSTILE.length);
    const records = files.filter((f) => f.endsWith('.json')).map((f) => readFileSync(join(out, f), 'utf8'));
    expect(records).toHaveLength(HOSTILE.length * 2);
    for (const r of records) {
      const rec = JSON.parse(r) as { argv: string[]; env: Record<string, string>; stdin: number };
      expect(['raw', 'json']).toContain(rec.argv[0]);
      expect(rec.argv).toHaveLength(1);
      expect(rec.stdin).toBeGreaterThan(0);
      expect(Object.keys(rec.env).sort()).toEqual([
        'MAILINTAKE_ID',
        'MAILINTAKE_IDEMPOTENCY_KEY',
        'MAILINTAKE_ROUTE',
        'MAILINTAKE_SHA256',
      ]);
      expect(r).not.toMatch(/touch/);
    }
  }, 60_000);
});
