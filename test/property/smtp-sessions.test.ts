// Property test over SMTP sessions: random command sequences (valid, out of order, malformed,
// oversized, binary, pipelined, half-written DATA, abrupt closes) against the real push listener.
// After every session the listener must still be up and a well-behaved client must get its message
// accepted (250) and handled; nothing the hostile sessions sent may be handled unless it got a 250.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawSmtp, makeMessage, startSmtpBed, type SmtpBed } from '../harness/smtp-clients.js';
import { waitFor } from '../harness/wait.js';
import { LONG } from '../fault/kit.js';

const addr = fc.oneof(
  fc.constantFrom(
    '<a@client.test>',
    '<x@example.test>',
    '<>',
    '<foreign@evil.test>',
    'x@example.test',
    '<<x@example.test>>',
    '<x@example.test> SIZE=999999999999',
    '<x@example.test> BODY=8BITMIME SMTPUTF8',
    '<@relay:x@example.test>',
    `<${'a'.repeat(2000)}@example.test>`,
    '<\u00e9@example.test>',
  ),
  fc.string({ maxLength: 80 }),
);

const command = fc.oneof(
  fc.constantFrom('EHLO h.test', 'HELO h.test', 'EHLO', 'LHLO x', 'RSET', 'NOOP', 'QUIT', 'DATA', 'BDAT 10 LAST', 'STARTTLS', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH PLAIN AHgAeA==', 'VRFY root', 'EXPN all', 'HELP', 'TURN', 'XCLIENT ADDR=1.2.3.4', 'XFORWARD NAME=x', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2'), // prettier-ignore
  addr.map((a) => `MAIL FROM:${a}`),
  addr.map((a) => `RCPT TO:${a}`),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => 'X'.repeat(n)),
);

type Step =
  | { kind: 'cmd'; line: string; eol: string }
  | { kind: 'data'; body: string; terminate: boolean }
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'close' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('cmd' as const), line: command, eol: fc.constantFrom('\r\n', '\n', '\r', '') }) }, // prettier-ignore
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('data' as const), body: fc.string({ maxLength: 3000 }), terminate: fc.boolean() }) }, // prettier-ignore
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 4000 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
);

/** Plays a hostile session on a raw socket; returns the reply codes seen (best effort). */
async function hostile(port: number, steps: Step[]): Promise<string> {
  const sock = connect({ host: '127.0.0.1', port });
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  sock.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    sock.once('connect', resolve);
    sock.once('error', () => resolve());
  });
  for (const s of steps) {
    if (sock.destroyed) break;
    if (s.kind === 'close') {
      sock.destroy();
      break;
    }
    if (s.kind === 'cmd') sock.write(`${s.line}${s.eol}`);
    else if (s.kind === 'raw') sock.write(s.bytes);
    else sock.write(`DATA\r\n${s.body}${s.terminate ? '\r\n.\r\n' : ''}`);
  }
  // Give the server a bounded chance to answer, then go away without QUIT.
  const before = got.length;
  await waitFor(() => got.length > before || sock.destroyed, { timeoutMs: 300, intervalMs: 10 }).catch(
    () => undefined,
  );
  sock.destroy();
  return got;
}

describe('SMTP sessions: the listener survives any command sequence', () => {
  let bed: SmtpBed;
  beforeAll(async () => {
    bed = await startSmtpBed({ maxSize: 256 * 1024, maxClientsPerIp: 500, socketTimeout: 5000 });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('random sessions, each followed by a well-behaved client that gets 250 and is handled', async () => {
    const runs = LONG ? 2000 : 120;
    let good = 0;
    let accepted250 = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const replies = await hostile(bed.port, steps);
        accepted250 += (replies.match(/^250 [^\r\n]*queued/gm) ?? []).length;
        const m = makeMessage({ to: 'ok@example.test' });
        const s = await RawSmtp.open(bed.port);
        try {
          expect((await s.reply(10_000)).code).toBe(220);
          expect((await s.cmd('EHLO good.test')).code).toBe(250);
          expect((await s.send('good@client.test', ['ok@example.test'], m.raw)).code).toBe(250);
          await s.cmd('QUIT');
        } finally {
          s.destroy();
        }
        await waitFor(() => bed.handled.some((h) => h.raw.includes(m.token)), {
          timeoutMs: 10_000,
          what: 'good message handled',
        });
        good++;
      }),
      { numRuns: runs, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
    expect(good).toBe(runs);
    await bed.app.pipeline.idle({ retries: false });
    // handled == good clients + whatever hostile sessions got a 250 for (never more)
    expect(bed.handled.length).toBeLessThanOrEqual(good + accepted250);
    expect(bed.handled.length).toBeGreaterThanOrEqual(good);
    console.log(
      `[smtp-sessions] ${runs} hostile sessions; ${accepted250} hostile 250s; ${bed.handled.length} handled`,
    );
  }, 300_000);
});
