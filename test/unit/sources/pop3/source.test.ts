// The POP3 source against the fake server: XOAUTH2 login (auto), bytes split at every boundary,
// DELE only for delivered rows and settled only after QUIT +OK, [IN-USE] → backoff visible in health.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../harness/wait.js';
import { makePopRig, type PopRig } from './kit.js';
import { bytewise, startFakePop3, type FakePop3, type FakePop3Options } from './fake-pop3-server.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');
const MESSAGES = [
  crlf('Message-ID: <a@t>\nSubject: one\n\n.leading dot\n..two\n.\nend\n'),
  Buffer.concat([crlf('Message-ID: <b@t>\nSubject: two\n\ncaf'), Buffer.from([0xe9, 0x0d, 0x0a])]),
  crlf('Message-ID: <c@t>\nSubject: three\n\nFAILME\n'),
];

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function rig(
  o: FakePop3Options,
  pop3: Record<string, unknown> = {},
): Promise<{ srv: FakePop3; r: PopRig }> {
  const srv = await startFakePop3({ messages: MESSAGES, ...o });
  const r = await makePopRig({
    failMarker: 'FAILME',
    pop3: { host: '127.0.0.1', port: srv.port, secure: false, starttls: false, user: 'alice', password: 'secret', ...pop3 }, // prettier-ignore
  });
  cleanup.push(
    () => srv.close(),
    () => r.close(),
  );
  return { srv, r };
}

describe('POP3 source (fake server)', () => {
  it('auto auth uses XOAUTH2 with a token; split bytes; DELE delivered only, then QUIT', async () => {
    const { srv, r } = await rig({ split: bytewise }, { accessToken: 'tok', password: undefined });
    const res = await r.source.runOnce();
    expect(res).toMatchObject({ fetched: 3, errors: 0 });
    expect(srv.received.some((l) => l.startsWith('AUTH XOAUTH2 '))).toBe(true);
    expect(srv.received.some((l) => l.startsWith('USER'))).toBe(false);
    for (const m of MESSAGES.slice(0, 2)) expect(r.seen.get(sha(m))?.equals(m)).toBe(true);
    expect(srv.deleted()).toEqual([1, 2]); // the dead one (3) stays
    const dele = srv.received.findIndex((l) => l.startsWith('DELE'));
    expect(srv.received.indexOf('QUIT')).toBeGreaterThan(dele);
    expect(r.app.store.recent('dead', 5).map((x) => x.settleAction)).toEqual(['leave:dead']);
  });

  it('-ERR [IN-USE] backs off: error and backoffUntil in health, no connection until it passes', async () => {
    let inUse = true;
    const { srv, r } = await rig({
      override: (verb) =>
        verb === 'PASS' && inUse ? '-ERR [IN-USE] Mailbox is locked by another session\r\n' : undefined,
    });
    const res = await r.source.runOnce();
    expect(res).toEqual({ fetched: 0, settled: 0, errors: 1 });
    const h = r.source.health();
    expect(h.lastError).toMatch(/IN-USE/);
    expect(h.backoffUntil).toBeGreaterThan(Date.now());
    expect(h.connected).toBe(false);
    const commands = srv.received.length;
    expect(await r.source.runOnce()).toEqual({ fetched: 0, settled: 0, errors: 0 }); // skipped
    expect(srv.received.length).toBe(commands);
    inUse = false;
    await waitFor(() => r.source.health().backoffUntil === null, { what: 'backoff over' });
    expect((await r.source.runOnce()).fetched).toBe(3);
    expect(r.source.health().backoffUntil).toBeNull();
  });

  it('a stalled server hits the command timeout and is reported, retryable', async () => {
    const { r } = await rig(
      { override: (verb) => (verb === 'UIDL' ? 'silent' : undefined) },
      { commandTimeout: 300 },
    );
    const res = await r.source.runOnce();
    expect(res.errors).toBe(1);
    expect(r.source.health().lastError).toMatch(/UIDL: no response within 300 ms/);
    expect(r.source.health().backoffUntil).not.toBeNull();
  });
});

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('POP3 source pacing', () => {
  it('sends no new RETR while backlogLimit fetched messages wait for the pipeline', async () => {
    const many = Array.from({ length: 12 }, (_, i) => crlf(`Message-ID: <p${i}@t>\nSubject: ${i}\n\nbody\n`));
    const { r } = await rig({ messages: many });
    const paced = r.another({ window: 2, backlogLimit: 3 });
    await r.app.pipeline.stop(); // nothing gets handled: fetched messages wait
    const run = paced.runOnce();
    await new Promise((res) => setTimeout(res, 1_000));
    const waiting = r.app.store.counts().byStatus.received ?? 0;
    expect(waiting).toBeGreaterThanOrEqual(3);
    expect(waiting).toBeLessThanOrEqual(3 + 2); // the limit plus the RETRs already in flight
    r.app.pipeline.start(); // handling resumes, and so do the downloads
    const res = await run;
    expect(res).toMatchObject({ fetched: 12, errors: 0 });
    expect(r.total()).toBe(12);
  }, 30_000);
});
