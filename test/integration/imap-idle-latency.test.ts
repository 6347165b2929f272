// IDLE latency: 100 messages APPENDed by another client while the worker idles; latency is from
// just before the APPEND command to the handler call. Prints p50/p99; asserts generous bounds only.
// Uses the production client tuning (autoIdleDelay 500 ms), not the shortened test one.
// CI runs 30 messages; IMAP_LATENCY_N=100 for the reported figure (about 100 s: it paces appends).
import { ImapFlow } from 'imapflow';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TUNING } from '../../src/sources/imap/options.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { waitFor } from '../harness/wait.js';
import { allSettled, makeRig, message, type Rig } from '../unit/sources/imap/kit.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dc: Dovecot;
let rig: Rig | null = null;

beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  await rig?.close();
  await dc.close();
});

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const N = Number(process.env.IMAP_LATENCY_N ?? 30);

describe('IDLE latency', () => {
  it(`delivers appended mail to the handler within seconds (${N} messages)`, async () => {
    const u = uniqueUser('lat');
    await dc.addUser(u.user, u.password);
    rig = await makeRig(dc, u, { tuning: { client: DEFAULT_TUNING } });
    const r = rig;
    await waitFor(() => r.source.health().connected, { what: 'connected' });
    const appender = new ImapFlow({
      host: '127.0.0.1',
      port: dc.ports.imaps,
      secure: true,
      tls: { ca: [readFileSync(dc.caFile, 'utf8')], servername: 'localhost' },
      auth: { user: u.user, pass: u.password },
      logger: false,
    });
    appender.on('error', () => undefined);
    await appender.connect();
    const lat: number[] = [];
    try {
      for (let i = 0; i < N; i++) {
        // Let the worker settle and fall back into IDLE (auto-IDLE after 500 ms of quiet).
        await waitFor(() => allSettled(r, i), { what: `message ${i - 1} settled` });
        await new Promise((res) => setTimeout(res, 700));
        const raw = message('lat', i);
        const t0 = Date.now();
        await appender.append('INBOX', raw);
        await waitFor(() => r.firstCall.has(sha(raw)), {
          timeoutMs: 10_000,
          intervalMs: 5,
          what: `message ${i} handled`,
        });
        lat.push(r.firstCall.get(sha(raw))! - t0);
      }
    } finally {
      await appender.logout().catch(() => undefined);
    }
    const p50 = pct(lat, 50);
    const p99 = pct(lat, 99);
    console.log(
      `[imap-idle-latency] n=${lat.length} p50=${p50}ms p99=${p99}ms max=${Math.max(...lat)}ms min=${Math.min(...lat)}ms`,
    );
    expect(r.total()).toBe(N);
    expect(p50).toBeLessThan(2_000);
    expect(p99).toBeLessThan(6_000);
  }, 240_000);
});
