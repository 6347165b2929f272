// Settle actions verified on the server afterwards, vanished UIDs, oversize policies, streaming
// download of big messages, UIDVALIDITY reset, TLS verification and check().
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, uniqueUser, type Dovecot, type DovecotUser } from '../harness/dovecot.js';
import { runOk } from '../harness/exec.js';
import { waitFor } from '../harness/wait.js';
import { allSettled, makeRig, message, type Rig, type RigOptions } from '../unit/sources/imap/kit.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let dc: Dovecot;
const rigs: Rig[] = [];

beforeAll(async () => {
  dc = await startDovecot();
});
afterAll(async () => {
  for (const r of rigs) await r.close().catch(() => undefined);
  await dc.close();
});

const midOf = (raw: Buffer) => /Message-ID: <([^>]+)>/.exec(raw.toString('latin1'))?.[1] ?? '';

/** Message-IDs in a folder (doveadm; the harness list() cannot follow moved maildir files). */
async function idsIn(user: string, box: string): Promise<string[]> {
  const res = await runOk('doveadm', [
    '-c',
    dc.configFile,
    '-f',
    'flow',
    'fetch',
    '-u',
    user,
    'hdr.message-id',
    'mailbox',
    box,
    'all',
  ]);
  return [...res.stdout.toString('utf8').matchAll(/<([^>]+)>/g)].map((m) => m[1]!).sort();
}

async function setup(
  n: number,
  o: RigOptions = {},
  raws?: Buffer[],
): Promise<{ u: DovecotUser; r: Rig; raws: Buffer[] }> {
  const u = uniqueUser('settle');
  await dc.addUser(u.user, u.password);
  const msgs = raws ?? Array.from({ length: n }, (_, i) => message(u.user, i));
  await dc.saveMany(u.user, 'INBOX', msgs);
  const r = await makeRig(dc, u, { start: false, ...o });
  rigs.push(r);
  return { u, r, raws: msgs };
}

async function runUntilSettled(r: Rig, n: number): Promise<void> {
  await waitFor(
    async () => {
      await r.source.runOnce();
      return allSettled(r, n);
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${n} rows settled` },
  );
}

describe('settle actions', () => {
  it('seen + keyword', async () => {
    const { u, r } = await setup(3, { source: { onSuccess: { seen: true, keyword: 'Processed' } } });
    await runUntilSettled(r, 3);
    for (const m of await dc.list(u.user, 'INBOX'))
      expect(m.flags).toEqual(expect.arrayContaining(['\\Seen', 'Processed']));
    expect(r.app.store.recent('delivered', 5).map((x) => x.settleAction)).toEqual([
      'seen+Processed',
      'seen+Processed',
      'seen+Processed',
    ]);
  });

  it('move (folder created) for success, move to Failed for dead', async () => {
    const raws = [message('mv', 0), message('mv', 1, 'FAILME\r\n'), message('mv', 2)];
    const { u, r } = await setup(
      0,
      { failMarker: 'FAILME', source: { onSuccess: { move: 'Done' }, onFailure: { move: 'Failed' } } },
      raws,
    );
    await runUntilSettled(r, 3);
    expect(await dc.list(u.user, 'INBOX')).toHaveLength(0);
    expect(await idsIn(u.user, 'Done')).toEqual([midOf(raws[0]!), midOf(raws[2]!)].sort());
    expect(await idsIn(u.user, 'Failed')).toEqual([midOf(raws[1]!)]);
    expect(r.app.store.recent('dead', 5)[0]?.settleAction).toBe('move:Failed');
  });

  it('delete expunges exactly our UIDs (UID EXPUNGE), not other \\Deleted mail', async () => {
    const foreign = message('foreign', 0);
    const { u, r } = await setup(0, { imap: { startFrom: 'new' }, source: { onSuccess: { delete: true } } }, [
      foreign,
    ]);
    await runOk('doveadm', [
      '-c',
      dc.configFile,
      'flags',
      'add',
      '-u',
      u.user,
      '\\Deleted',
      'mailbox',
      'INBOX',
      'all',
    ]);
    expect((await r.source.runOnce()).fetched).toBe(0); // first run with startFrom new: foreign is not ours
    const ours = [message('ours', 0), message('ours', 1), message('ours', 2)];
    for (const m of ours) await dc.save(u.user, 'INBOX', m);
    await runUntilSettled(r, 3);
    expect(await idsIn(u.user, 'INBOX')).toEqual([midOf(foreign)]);
    expect(r.app.store.recent('delivered', 5).every((x) => x.settleAction === 'delete')).toBe(true);
  });

  it('flag and none', async () => {
    const a = await setup(2, { source: { onSuccess: { flag: '\\Flagged' } } });
    await runUntilSettled(a.r, 2);
    for (const m of await dc.list(a.u.user, 'INBOX')) expect(m.flags).toEqual(['\\Flagged']);
    const b = await setup(2, { source: { onSuccess: { none: true } } });
    await runUntilSettled(b.r, 2);
    for (const m of await dc.list(b.u.user, 'INBOX')) expect(m.flags).toEqual([]);
    expect(b.r.app.store.recent('delivered', 5).every((x) => x.settleAction === 'none')).toBe(true);
  });

  it('a UID removed by someone else before settling is settled as gone', async () => {
    let open!: () => void;
    const gate = new Promise<void>((res) => (open = res));
    const { u, r } = await setup(1, { gate, source: { onSuccess: { move: 'Processed' } } });
    const run = r.source.runOnce();
    await waitFor(() => r.total() === 1, { what: 'handler called' });
    await runOk('doveadm', ['-c', dc.configFile, 'expunge', '-u', u.user, 'mailbox', 'INBOX', 'all']);
    open();
    await run;
    await runUntilSettled(r, 1);
    expect(r.app.store.recent('delivered', 1)[0]?.settleAction).toBe('gone');
    expect(await idsIn(u.user, 'Processed')).toEqual([]);
  });
});

describe('fetching', () => {
  it('oversize dead: not downloaded, quarantined with a reason, moved to Failed', async () => {
    const big = message('big', 0, 'x'.repeat(5000));
    const small = message('small', 0);
    const { u, r } = await setup(0, { imap: { maxMessageSize: '2KB', oversize: 'dead' } }, [big, small]);
    await runUntilSettled(r, 2);
    expect(r.calls.has(sha(big))).toBe(false);
    expect(r.calls.get(sha(small))).toBe(1);
    const dead = r.app.store.recent('dead', 1)[0];
    expect(dead?.reason).toMatch(/oversize: \d+ bytes > maxMessageSize 2048/);
    expect(await idsIn(u.user, 'Failed')).toEqual([midOf(big)]);
  });

  it('oversize skip: left untouched on the server, cursor passes it', async () => {
    const big = message('big', 1, 'x'.repeat(5000));
    const { u, r } = await setup(0, { imap: { maxMessageSize: '2KB', oversize: 'skip' } }, [
      big,
      message('s', 1),
    ]);
    await runUntilSettled(r, 2);
    const list = await dc.list(u.user, 'INBOX');
    expect(list.find((m) => m.sha256 === sha(big))?.flags).toEqual([]);
    expect(r.app.store.recent('skipped', 1)[0]?.settleAction).toBe('none:oversize');
  });

  it('streams big messages byte-exactly through download()', async () => {
    const big = message('stream', 0, `${'0123456789abcdef'.repeat(64)}\r\n`.repeat(300));
    const { r } = await setup(0, { tuning: { streamThreshold: 4096 } }, [big, message('s', 2)]);
    await runUntilSettled(r, 2);
    expect(r.calls.get(sha(big))).toBe(1);
  });

  it('UIDVALIDITY reset: nothing handled twice, re-seen copies settled', async () => {
    const { u, r, raws } = await setup(20);
    await runUntilSettled(r, 20);
    await dc.resetUidValidity(u.user, 'INBOX');
    await runUntilSettled(r, 40);
    expect(r.total()).toBe(20);
    for (const x of raws) expect(r.calls.get(sha(x))).toBe(1);
    expect(r.app.store.counts().byStatus.skipped).toBe(20);
    for (const m of await dc.list(u.user, 'INBOX')) expect(m.flags).toContain('\\Seen');
  });
});

describe('tls and check', () => {
  it('check() over STARTTLS lists capabilities and folders', async () => {
    const { r } = await setup(0);
    const rep = await r.source.check();
    expect(rep.ok).toBe(true);
    expect(rep.capabilities).toEqual(expect.arrayContaining(['IDLE', 'MOVE', 'UIDPLUS', 'CONDSTORE']));
    expect(rep.folders).toContain('INBOX');
    expect(rep.details?.secure).toBe(true);
  });

  it('implicit TLS verifies against caFile; without the CA the certificate is rejected', async () => {
    const ok = await setup(1, { port: dc.ports.imaps, imap: { secure: true } });
    await runUntilSettled(ok.r, 1);
    const bad = await setup(0, {
      port: dc.ports.imaps,
      imap: { secure: true, tls: { servername: 'localhost' } },
    });
    const rep = await bad.r.source.check();
    expect(rep.ok).toBe(false);
    expect(rep.error).toMatch(/certificate|self[- ]signed|verify/i);
  });
});
