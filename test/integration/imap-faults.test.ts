// Recovery: Dovecot stopped and restarted mid-run, connections cut and stalled by the fault proxy.
// The worker must reconnect by itself, lose nothing and handle nothing twice (counted by sha256).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { startProxy, type Proxy } from '../harness/proxy.js';
import { waitFor } from '../harness/wait.js';
import { allSettled, makeRig, message, type Rig } from '../unit/sources/imap/kit.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dc: Dovecot;
let proxy: Proxy | null = null;
const rigs: Rig[] = [];

beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  for (const r of rigs) await r.close().catch(() => undefined);
  await proxy?.close();
  await dc.close();
});

function expectExactlyOnce(r: Rig, raws: Buffer[]): void {
  const missing = raws.filter((x) => r.calls.get(sha(x)) !== 1);
  expect(missing.length, `messages not handled exactly once`).toBe(0);
  expect(r.total()).toBe(raws.length);
}

async function seenCount(user: string): Promise<number> {
  return (await dc.list(user, 'INBOX')).filter((m) => m.flags.includes('\\Seen')).length;
}

describe('imap recovery', () => {
  it('survives Dovecot stop/restart mid-backlog and keeps IDLE working afterwards', async () => {
    const u = uniqueUser('restart');
    await dc.addUser(u.user, u.password);
    const raws = Array.from({ length: 400 }, (_, i) => message('restart', i));
    await dc.saveMany(u.user, 'INBOX', raws);
    // Backoff >= 1 s so the kicked session cannot reconnect before the master is down. (The
    // harness stop() SIGTERMs the master only; live sessions would linger as orphans without the kick.)
    const r = await makeRig(dc, u, {
      tuning: { maxPerPass: 50, backoff: { baseMs: 2_000, maxMs: 2_000, factor: 2, jitter: 0.5 } },
    });
    rigs.push(r);
    await waitFor(() => r.total() >= 40, { timeoutMs: 20_000, what: 'backlog under way' });
    await dc.kick(u.user);
    await dc.stop();
    await waitFor(() => !r.source.health().connected, { what: 'disconnect noticed' });
    expect(r.total()).toBeLessThan(raws.length);
    await dc.start();
    const late = Array.from({ length: 10 }, (_, i) => message('late', i));
    await waitFor(() => r.source.health().connected, { timeoutMs: 20_000, what: 'reconnected' });
    for (const m of late) await dc.save(u.user, 'INBOX', m);
    const all = [...raws, ...late];
    await waitFor(() => r.total() >= all.length && allSettled(r, all.length), {
      timeoutMs: 60_000,
      what: 'all handled and settled',
    });
    expectExactlyOnce(r, all);
    await waitFor(async () => (await seenCount(u.user)) === all.length, { what: 'all \\Seen on the server' });
    expect(r.source.health().lastError).not.toBeNull();
  });

  it('survives cut connections and a stalled socket (watchdog), losing nothing', async () => {
    const u = uniqueUser('proxy');
    await dc.addUser(u.user, u.password);
    proxy = await startProxy({ targetHost: '127.0.0.1', targetPort: dc.ports.imap });
    const raws = Array.from({ length: 400 }, (_, i) => message('proxy', i));
    await dc.saveMany(u.user, 'INBOX', raws);
    const r = await makeRig(dc, u, { port: proxy.port, tuning: { maxPerPass: 50 } });
    rigs.push(r);
    for (const at of [50, 150, 250]) {
      await waitFor(() => r.total() >= at, { timeoutMs: 30_000, what: `${at} handled` });
      proxy.cutAll();
    }
    await waitFor(() => r.total() >= raws.length && allSettled(r, raws.length), {
      timeoutMs: 60_000,
      what: 'backlog done',
    });
    // Stall an idle connection: only the watchdog's NOOP deadline can notice.
    const accepted = proxy.accepted();
    proxy.setMode('stall');
    await waitFor(() => !r.source.health().connected, {
      timeoutMs: 15_000,
      what: 'watchdog dropped the stalled connection',
    });
    proxy.setMode('pass');
    await waitFor(() => r.source.health().connected && proxy!.accepted() > accepted, {
      timeoutMs: 20_000,
      what: 'reconnected through proxy',
    });
    const late = message('proxy-late', 0);
    await dc.save(u.user, 'INBOX', late);
    await waitFor(() => r.calls.get(sha(late)) === 1, { timeoutMs: 10_000, what: 'IDLE after recovery' });
    await waitFor(() => allSettled(r, raws.length + 1), { timeoutMs: 20_000, what: 'settled' });
    expectExactlyOnce(r, [...raws, late]);
    expect(await seenCount(u.user)).toBe(raws.length + 1);
  });
});
