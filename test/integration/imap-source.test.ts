// IMAP source against the harness Dovecot: first sync, IDLE pickup, settle actions verified on the
// server, oversize policy, STARTTLS/TLS verification, check().
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot, type DovecotUser } from '../harness/dovecot.js';
import { waitFor } from '../harness/wait.js';
import { allSettled, makeRig, message, type Rig } from '../unit/sources/imap/kit.js';

let dc: Dovecot;
const rigs: Rig[] = [];

beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  for (const r of rigs) await r.close().catch(() => undefined);
  await dc.close();
});

async function user(): Promise<DovecotUser> {
  const u = uniqueUser('imap');
  await dc.addUser(u.user, u.password);
  return u;
}

async function rig(u: DovecotUser, o: Parameters<typeof makeRig>[2] = {}): Promise<Rig> {
  const r = await makeRig(dc, u, o);
  rigs.push(r);
  return r;
}

describe('imap source', () => {
  it('processes the backlog once and marks it seen', async () => {
    const u = await user();
    const raws = Array.from({ length: 30 }, (_, i) => message('backlog', i));
    await dc.saveMany(u.user, 'INBOX', raws);
    const r = await rig(u, { start: false });
    const res = await r.source.runOnce();
    expect(res.errors).toBe(0);
    expect(res.fetched).toBe(30);
    await waitFor(() => allSettled(r, 30), { what: 'all settled' });
    expect(r.total()).toBe(30);
    const list = await dc.list(u.user, 'INBOX');
    expect(list.every((m) => m.flags.includes('\\Seen'))).toBe(true);
    const again = await r.source.runOnce();
    expect(again.fetched).toBe(0);
    expect(r.total()).toBe(30);
  });

  it('picks up mail through IDLE within seconds', async () => {
    const u = await user();
    await dc.save(u.user, 'INBOX', message('idle', 0));
    const r = await rig(u);
    await waitFor(() => r.total() === 1, { what: 'first message via connect sync' });
    const raw = message('idle', 1);
    await dc.save(u.user, 'INBOX', raw);
    await waitFor(() => r.total() === 2, { timeoutMs: 5_000, what: 'IDLE delivery' });
    await waitFor(() => allSettled(r, 2), { what: 'settled' });
    expect(r.source.health().connected).toBe(true);
  });

  it('startFrom new ignores mail present at first run', async () => {
    const u = await user();
    await dc.saveMany(u.user, 'INBOX', [message('old', 0), message('old', 1)]);
    const r = await rig(u, { start: false, imap: { startFrom: 'new' } });
    expect((await r.source.runOnce()).fetched).toBe(0);
    await dc.save(u.user, 'INBOX', message('new', 0));
    expect((await r.source.runOnce()).fetched).toBe(1);
  });

  it('a bad password backs off and never reaches the logs or health', async () => {
    const u = await user();
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logged += chunk.toString('utf8');
        cb();
      },
    });
    const secret = `wrong-${u.password}-SECRET`;
    const r = await rig(u, { imap: { password: secret }, log: pino({ level: 'trace' }, sink) });
    await waitFor(() => r.source.health().backoffUntil !== null, { what: 'backoff after auth failure' });
    const h = r.source.health();
    expect(h.connected).toBe(false);
    expect(h.lastError).toMatch(/auth/i);
    expect(logged).toContain('connect failed');
    expect(logged).not.toContain(secret);
    expect(JSON.stringify(h)).not.toContain(secret);
  });
});
