// A real Postfix relaying to the push listener: delivered byte-identically (after our Received: and
// Postfix's own), and a 451 (spool failure) makes Postfix retry until the message is in, once.
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostfixRelay, type PostfixRelay } from '../harness/postfix.js';
import {
  makeMessage,
  startSmtpBed,
  stripFirstReceived,
  swaks,
  type SmtpBed,
} from '../harness/smtp-clients.js';
import { waitFor } from '../harness/wait.js';

describe('postfix relay → push listener', () => {
  let bed: SmtpBed;
  let relay: PostfixRelay;
  beforeAll(async () => {
    bed = await startSmtpBed();
    relay = await startPostfixRelay({ relayHost: '127.0.0.1', relayPort: bed.port });
  });
  afterAll(async () => {
    await relay?.stop();
    await bed?.close();
  });

  it('delivers byte-identically after the two Received: headers', async () => {
    const msgs = Array.from({ length: 5 }, (_, i) =>
      makeMessage({ to: `user${i}@example.test`, bodyBytes: 2000 * (i + 1) }),
    );
    for (const [i, m] of msgs.entries()) {
      const input = m.raw.subarray(0, m.raw.length - 2); // swaks adds the final CRLF itself
      const res = await swaks(
        [
          '--server',
          `127.0.0.1:${relay.port}`,
          '--from',
          's@client.test',
          '--to',
          `user${i}@example.test`,
          '--data',
          '-',
        ],
        input,
      );
      expect(res.code, res.stdout.toString()).toBe(0);
    }
    await waitFor(() => msgs.every((m) => bed.handled.some((h) => h.raw.includes(m.token))), {
      timeoutMs: 30_000,
      what: 'all relayed messages handled',
    });
    for (const m of msgs) {
      const got = bed.handled.filter((h) => h.raw.includes(m.token));
      expect(got).toHaveLength(1);
      const ours = got[0]!.raw.toString('latin1');
      expect(ours).toMatch(
        /^Received: from relay-\w+\.localhost \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test with ESMTP id /,
      );
      const afterPostfix = stripFirstReceived(stripFirstReceived(got[0]!.raw));
      expect(afterPostfix.equals(m.raw)).toBe(true);
    }
  });

  it('retries after 451 (spool failure) and the message is handled exactly once', async () => {
    const spool = bed.app.spool;
    const real = spool.writeStream.bind(spool);
    let refusals = 0;
    spool.writeStream = async (stream, opts) => {
      if (refusals < 3) {
        refusals++;
        stream.resume();
        throw Object.assign(new Error('simulated ENOSPC'), { code: 'ENOSPC' });
      }
      return real(stream, opts);
    };
    try {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: relay.port, ignoreTLS: true });
      const m = makeMessage({ to: 'retry@example.test' });
      await t.sendMail({ envelope: { from: 's@client.test', to: ['retry@example.test'] }, raw: m.raw });
      t.close();
      await waitFor(() => bed.handled.some((h) => h.raw.includes(m.token)), {
        timeoutMs: 30_000,
        what: 'retried message handled',
      });
      expect(refusals).toBe(3);
      await waitFor(async () => (await relay.queue()).length === 0, {
        timeoutMs: 10_000,
        what: 'postfix queue empty',
      });
      expect(bed.handled.filter((h) => h.raw.includes(m.token))).toHaveLength(1);
      expect(await relay.logTail(200)).toMatch(/451 4\.3\.0/);
    } finally {
      spool.writeStream = real;
    }
  });
});
