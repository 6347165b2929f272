/** Pipeline behaviour with in-process fake handlers (pure logic around a real SQLite store). */
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { PermanentError, TemporaryError } from '../../../src/core/errors.js';
import type { Handler } from '../../../src/handlers/types.js';
import { join } from 'node:path';
import { openSqliteStore } from '../../../src/store/sqlite/store.js';
import { waitFor } from '../../harness/wait.js';
import { tempDir, testApp } from '../../helpers/app.js';

const MSG = (n: number) =>
  Buffer.from(
    `Message-ID: <m${n}@test>\r\nFrom: a@b.example\r\nTo: c@d.example\r\nSubject: n${n}\r\n\r\nbody ${n}\r\n`,
  );

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function handler(name: string, fn: (attempt: number) => Promise<void>): Handler & { calls: number } {
  const h = {
    name,
    calls: 0,
    async handle(_m: unknown, call: { attempt: number }) {
      h.calls++;
      await fn(call.attempt);
    },
  };
  return h as Handler & { calls: number };
}

async function feed(a: App, n: number) {
  const r = await a.intake.receive(MSG(n), {
    envelope: { mailFrom: null, rcptTo: [] },
    source: { kind: 'replay', source: 'replay', positionKey: `t:${n}` },
  });
  return r.row.id;
}

const fast = { pipeline: { backoffBase: 1, backoffMax: 5, maxAttempts: 4, handlerTimeout: 300 } };

describe('pipeline', () => {
  it('retries temporary failures with backoff, then delivers; a later success does not re-run handlers that succeeded', async () => {
    const ok = handler('ok', async () => undefined);
    const flaky = handler('flaky', async (attempt) => {
      if (attempt < 3) throw new TemporaryError('HTTP 500');
    });
    app = testApp(
      tempDir(),
      {
        ...fast,
        routes: [{ name: 'all', handlers: ['ok', 'flaky'] }],
        handlers: { ok: { maildir: { path: '/nonexistent' } }, flaky: { maildir: { path: '/nonexistent' } } },
      },
      new Map([
        ['ok', ok],
        ['flaky', flaky],
      ]),
    );
    app.pipeline.start();
    const id = await feed(app, 1);
    await app.pipeline.idle({ retries: true });
    const row = app.store.get(id)!;
    expect(row.status).toBe('delivered');
    expect(row.attempts).toBe(3);
    expect(flaky.calls).toBe(3);
    expect(ok.calls).toBe(1);
  });

  it('sends a permanent failure to dead with the reason, and gives up after maxAttempts', async () => {
    const perm = handler('perm', async () => {
      throw new PermanentError('HTTP 422 invalid');
    });
    const temp = handler('temp', async () => {
      throw new Error('socket hang up');
    });
    app = testApp(
      tempDir(),
      {
        ...fast,
        routes: [
          { name: 'p', subject: 'n1', handlers: ['perm'] },
          { name: 'all', handlers: ['temp'] },
        ],
        handlers: { perm: { file: { path: '/x' } }, temp: { file: { path: '/x' } } },
      },
      new Map([
        ['perm', perm],
        ['temp', temp],
      ]),
    );
    app.pipeline.start();
    const a = await feed(app, 1);
    const b = await feed(app, 2);
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(a)).toMatchObject({ status: 'dead', reason: 'HTTP 422 invalid', attempts: 1 });
    expect(app.store.get(b)).toMatchObject({ status: 'dead', attempts: 4 });
    expect(app.store.get(b)?.reason).toMatch(/gave up after 4 attempts: socket hang up/);
    expect(perm.calls).toBe(1);
    expect(temp.calls).toBe(4);
    // retry brings dead mail back; only failed handlers run again
    expect(app.store.retry(b, Date.now())).toBe(1);
    await app.pipeline.idle({ retries: true });
    expect(temp.calls).toBe(8);
  });

  it('treats a hanging handler as a temporary failure (timeout), never as success', async () => {
    const hang = handler('hang', () => new Promise(() => undefined));
    app = testApp(
      tempDir(),
      {
        ...fast,
        pipeline: { ...fast.pipeline, maxAttempts: 2 },
        routes: [{ name: 'all', handlers: ['hang'] }],
        handlers: { hang: { file: { path: '/x' } } },
      },
      new Map([['hang', hang]]),
    );
    app.pipeline.start();
    const id = await feed(app, 1);
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(id)?.status).toBe('dead');
    expect(app.store.get(id)?.reason).toMatch(/did not finish within 300 ms/);
    expect(hang.calls).toBe(2);
  });

  it('records content duplicates as skipped and drops by route', async () => {
    const h = handler('h', async () => undefined);
    app = testApp(
      tempDir(),
      {
        routes: [
          { name: 'noise', subject: 'n2', action: 'drop' },
          { name: 'all', handlers: ['h'] },
        ],
        handlers: { h: { file: { path: '/x' } } },
      },
      new Map([['h', h]]),
    );
    app.pipeline.start();
    const a = await feed(app, 1);
    const dup = await app.intake.receive(MSG(1), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'smtp', source: 'push', positionKey: 'smtp:push:x' },
    });
    const c = await feed(app, 2);
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(a)?.status).toBe('delivered');
    expect(app.store.get(dup.row.id)).toMatchObject({ status: 'skipped', duplicateOf: a });
    expect(app.store.get(c)).toMatchObject({ status: 'skipped', reason: 'dropped by route noise' });
    expect(h.calls).toBe(1);
  });

  it('dead-letters unparseable input past the limits with a reason', async () => {
    const h = handler('h', async () => undefined);
    app = testApp(
      tempDir(),
      {
        pipeline: { maxHeadSize: 100 },
        routes: [{ name: 'all', handlers: ['h'] }],
        handlers: { h: { file: { path: '/x' } } },
      },
      new Map([['h', h]]),
    );
    app.pipeline.start();
    const big = Buffer.from(`Subject: ${'x'.repeat(500)}\r\n\r\nbody\r\n`);
    const r = await app.intake.receive(big, {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 't:big' },
    });
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(r.row.id)?.status).toBe('dead');
    expect(app.store.get(r.row.id)?.reason).toMatch(/parse failed/);
    expect(h.calls).toBe(0);
  });
});

describe('pipeline spool reads', () => {
  it('quarantines a missing spool file but retries a transient read error', async () => {
    const h = handler('h', async () => undefined);
    app = testApp(
      tempDir(),
      { ...fast, routes: [{ name: 'all', handlers: ['h'] }], handlers: { h: { file: { path: '/x' } } } },
      new Map([['h', h]]),
    );
    const gone = await feed(app, 1);
    const flaky = await feed(app, 2);
    const { rmSync } = await import('node:fs');
    const { readFile } = await import('node:fs/promises');
    rmSync(app.store.get(gone)!.spoolPath);
    const spool = app.spool as unknown as {
      readChecked: (p: string) => Promise<{ raw: Buffer; cached: boolean }>;
    };
    const real = spool.readChecked.bind(app.spool);
    let failures = 0;
    spool.readChecked = async (p: string) => {
      if (p === app!.store.get(flaky)!.spoolPath && failures++ < 2) {
        throw Object.assign(new Error('too many open files'), { code: 'EMFILE' });
      }
      // the deleted file is read from disk, not from the recent-write cache
      if (p === app!.store.get(gone)!.spoolPath) return { raw: await readFile(p), cached: false };
      return real(p);
    };
    app.pipeline.start();
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(gone)).toMatchObject({ status: 'dead' });
    expect(app.store.get(gone)?.reason).toMatch(/spool file unreadable/);
    expect(app.store.get(flaky)).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(h.calls).toBe(1);
    // The same content again (the sender retrying, the next fetch): handled, not skipped as a
    // duplicate of the copy whose bytes were lost.
    const again = await app.intake.receive(MSG(1), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 't:1-again' },
    });
    expect(again.row.status).toBe('received');
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(again.row.id)).toMatchObject({ status: 'delivered' });
    expect(h.calls).toBe(2);
    // A copy of content whose first copy was fine is still a duplicate.
    const dup = await app.intake.receive(MSG(2), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 't:2-again' },
    });
    expect(dup.row.status).toBe('skipped');
  });
});

describe('pipeline body parsing', () => {
  function seer(name: string, needsBody?: boolean) {
    const seen: Array<{ subject: string; text: string | null; from: string | undefined }> = [];
    const h: Handler = {
      name,
      ...(needsBody === undefined ? {} : { needsBody }),
      async handle(m) {
        seen.push({ subject: m.parsed.subject, text: m.parsed.text, from: m.parsed.from[0]?.address });
        await Promise.resolve();
      },
    };
    return { h, seen };
  }

  it('parses only the header block when every handler to run takes raw bytes, the whole message otherwise', async () => {
    const raw = seer('raw', false);
    const body = seer('body');
    app = testApp(
      tempDir(),
      {
        ...fast,
        routes: [
          { name: 'r1', subject: 'n1', handlers: ['raw'] },
          { name: 'all', handlers: ['raw', 'body'] },
        ],
        handlers: { raw: { maildir: { path: '/x' } }, body: { file: { path: '/x' } } },
      },
      new Map([
        ['raw', raw.h],
        ['body', body.h],
      ]),
    );
    app.pipeline.start();
    await feed(app, 1); // r1: the raw-only handler alone
    await feed(app, 2); // all: one handler needs the body, so both see the full parse
    await app.pipeline.idle({ retries: true });
    // Handled concurrently (one batch): the order of the calls is not fixed.
    raw.seen.sort((x, y) => x.subject.localeCompare(y.subject));
    expect(raw.seen).toEqual([
      { subject: 'n1', text: null, from: 'a@b.example' },
      { subject: 'n2', text: 'body 2\n', from: 'a@b.example' },
    ]);
    expect(body.seen).toEqual([{ subject: 'n2', text: 'body 2\n', from: 'a@b.example' }]);
  });

  it('parses nothing when neither the routes nor the handlers read a header field, and only as much as they read', async () => {
    const seen: Array<{ h: string; subject: string; text: string | null; autoReply: boolean }> = [];
    const mk = (name: string, flags: Partial<Pick<Handler, 'needsBody' | 'needsHeaders'>>): Handler => ({
      name,
      ...flags,
      async handle(m) {
        seen.push({
          h: name,
          subject: m.parsed.subject,
          text: m.parsed.text,
          autoReply: m.classification.autoReply.autoReply,
        });
        await Promise.resolve();
      },
    });
    app = testApp(
      tempDir(),
      {
        ...fast,
        routes: [
          // envelope recipients: no header needed for SMTP-like rows, To/Cc needed for pulled ones
          { name: 'env', to: 'c@d.example', handlers: ['bare'] },
          { name: 'auto', when: { autoReply: true }, handlers: ['bare', 'heads'] },
          { name: 'all', handlers: ['bare'] },
        ],
        handlers: {
          bare: { maildir: { path: '/x' } },
          heads: { maildir: { path: '/x' } },
        },
      },
      new Map([
        ['bare', mk('bare', { needsBody: false, needsHeaders: false })],
        ['heads', mk('heads', { needsBody: false })],
      ]),
    );
    const calls = { head: 0, full: 0, classify: 0 };
    const d = (app.pipeline as unknown as { d: Record<string, (...a: unknown[]) => unknown> }).d;
    for (const [k, name] of [
      ['analyseHead', 'head'],
      ['analyse', 'full'],
      ['classifyOnly', 'classify'],
    ] as const) {
      const real = d[k]!;
      d[k] = (...a: unknown[]) => {
        calls[name]++;
        return real(...a);
      };
    }
    app.pipeline.start();
    const put = (raw: Buffer, rcptTo: string[], key: string) =>
      app!.intake.receive(raw, {
        envelope: { mailFrom: 'x@y.example', rcptTo },
        source: { kind: rcptTo.length ? 'smtp' : 'pop3', source: 's', positionKey: key },
      });
    // 1: SMTP row for the envelope route: nothing parsed.
    await put(MSG(1), ['c@d.example'], 'k1');
    await app.pipeline.idle();
    expect(calls).toEqual({ head: 0, full: 0, classify: 1 });
    // 2: pulled row (no envelope recipients): the `to` route reads To/Cc, so the header block is parsed.
    await put(MSG(2), [], 'k2');
    await app.pipeline.idle();
    expect(calls).toEqual({ head: 1, full: 0, classify: 1 });
    // 3: an auto-reply to another recipient: routed on the classification alone, then the header
    // block is parsed because the `heads` handler reads header fields.
    const auto = Buffer.from(
      'Message-ID: <a3@test>\r\nFrom: a@b.example\r\nTo: z@d.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nback monday\r\n',
    );
    await put(auto, ['z@d.example'], 'k3');
    await app.pipeline.idle();
    expect(calls).toEqual({ head: 2, full: 0, classify: 2 });
    expect(seen).toEqual([
      { h: 'bare', subject: '', text: null, autoReply: false },
      { h: 'bare', subject: 'n2', text: null, autoReply: false },
      { h: 'bare', subject: 'Out of office', text: null, autoReply: true },
      { h: 'heads', subject: 'Out of office', text: null, autoReply: true },
    ]);
  });

  it('a route on a header field parses the header block even for header-less handlers', async () => {
    const got: string[] = [];
    app = testApp(
      tempDir(),
      {
        ...fast,
        routes: [
          { name: 'sub', subject: 'n1', handlers: ['bare'] },
          { name: 'all', action: 'drop' },
        ],
        handlers: { bare: { maildir: { path: '/x' } } },
      },
      new Map([
        [
          'bare',
          {
            name: 'bare',
            needsBody: false,
            needsHeaders: false,
            async handle(m) {
              got.push(m.parsed.subject);
              await Promise.resolve();
            },
          } satisfies Handler,
        ],
      ]),
    );
    app.pipeline.start();
    const a = await app.intake.receive(MSG(1), {
      envelope: { mailFrom: null, rcptTo: ['c@d.example'] },
      source: { kind: 'smtp', source: 's', positionKey: 'k1' },
    });
    const b = await app.intake.receive(MSG(2), {
      envelope: { mailFrom: null, rcptTo: ['c@d.example'] },
      source: { kind: 'smtp', source: 's', positionKey: 'k2' },
    });
    await app.pipeline.idle();
    expect(got).toEqual(['n1']);
    expect(app.store.get(a.row.id)!.status).toBe('delivered');
    expect(app.store.get(b.row.id)!.status).toBe('skipped');
    expect(app.pipeline.mayParse).toBe(true);
  });

  it('knows when no message can need the parser (catch-all route into Maildir)', async () => {
    app = testApp(tempDir());
    expect(app.pipeline.mayParse).toBe(false);
    await app.close();
    app = testApp(tempDir(), {
      routes: [{ name: 'all', handlers: ['out', 'f'] }],
      handlers: {
        out: { maildir: { path: '/x' } },
        f: { file: { path: '/x' } },
      },
    });
    expect(app.pipeline.mayParse).toBe(true);
  });
});

describe('pipeline wake-ups', () => {
  it('picks up a retry queued by another process (another connection) without being woken', async () => {
    let fail = true;
    const h = handler('h', async () => {
      if (fail) throw new PermanentError('HTTP 422');
    });
    const dir = tempDir();
    app = testApp(
      dir,
      {
        ...fast,
        routes: [{ name: 'all', handlers: ['h'] }],
        handlers: { h: { maildir: { path: '/x' } } },
      },
      new Map([['h', h]]),
    );
    app.pipeline.start();
    const id = await feed(app, 1);
    await app.pipeline.idle();
    expect(app.store.get(id)!.status).toBe('dead');
    fail = false;
    // `mailintake retry` from a shell: its own connection to the database, no signal to the worker.
    const other = openSqliteStore(join(dir, 'db.sqlite'));
    expect(other.retry(id, Date.now())).toBe(1);
    other.close();
    const t0 = Date.now();
    while (app.store.get(id)!.status !== 'delivered' && Date.now() - t0 < 10_000)
      await new Promise((r) => setTimeout(r, 50));
    expect(app.store.get(id)!.status).toBe('delivered');
    expect(h.calls).toBe(2);
  }, 15_000);
});

describe('pipeline and intake durability', () => {
  it('takes a received row only once intake made it durable', async () => {
    const h = handler('h', async () => undefined);
    app = testApp(
      tempDir(),
      { ...fast, routes: [{ name: 'all', handlers: ['h'] }], handlers: { h: { maildir: { path: '/x' } } } },
      new Map([['h', h]]),
    );
    // Hold the WAL fsync: the row is committed, not yet durable.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const store = app.store as unknown as { durable: () => Promise<void> };
    const real = store.durable.bind(app.store);
    store.durable = () => held.then(real);
    app.pipeline.start();
    let acked = false;
    const receiving = feed(app, 1).then((id) => ((acked = true), id));
    await new Promise((r) => setTimeout(r, 150));
    expect(app.intake.pending.size).toBe(1);
    expect(h.calls).toBe(0);
    expect(acked).toBe(false);
    release();
    const id = await receiving;
    await app.pipeline.idle();
    expect(app.intake.pending.size).toBe(0);
    expect(app.store.get(id)!.status).toBe('delivered');
    expect(h.calls).toBe(1);
  });

  it('a row whose WAL fsync failed is refused to the sender, yet not left out of the pipeline', async () => {
    const h = handler('h', async () => undefined);
    app = testApp(
      tempDir(),
      { ...fast, routes: [{ name: 'all', handlers: ['h'] }], handlers: { h: { maildir: { path: '/x' } } } },
      new Map([['h', h]]),
    );
    const store = app.store as unknown as { durable: () => Promise<void> };
    const real = store.durable.bind(app.store);
    store.durable = () => Promise.reject(Object.assign(new Error('fdatasync: EIO'), { code: 'EIO' }));
    app.pipeline.start();
    await expect(feed(app, 1)).rejects.toThrow(/EIO/);
    store.durable = real;
    // The row was committed: it is handled (a resend is then its duplicate), not kept out forever.
    await app.pipeline.idle();
    expect(app.intake.pending.size).toBe(0);
    const row = app.store.getByPosition('t:1');
    expect(row?.status).toBe('delivered');
    expect(h.calls).toBe(1);
  });

  it('takes a row offered by intake at once when idle, without a claim query; older due rows go first', async () => {
    const order: string[] = [];
    const h: Handler = {
      name: 'h',
      async handle(m) {
        order.push(m.parsed.subject);
      },
    };
    app = testApp(
      tempDir(),
      { ...fast, routes: [{ name: 'all', handlers: ['h'] }], handlers: { h: { maildir: { path: '/x' } } } },
      new Map([['h', h]]),
    );
    const a = app;
    const claims = { n: 0 };
    const store = a.store as unknown as { claimDue: (...x: unknown[]) => unknown[] };
    const realClaim = store.claimDue.bind(a.store);
    store.claimDue = (...x: unknown[]) => (claims.n++, realClaim(...x));
    const offers: boolean[] = [];
    const realOffer = a.pipeline.offer.bind(a.pipeline);
    a.pipeline.offer = (row) => {
      const took = realOffer(row);
      offers.push(took);
      return took;
    };
    a.pipeline.start();
    await a.pipeline.idle();
    const before = claims.n;
    await feed(a, 1);
    await new Promise((r) => setImmediate(r)); // intake offers on the next turn (idle() would pump first)
    await a.pipeline.idle();
    // idle() itself pumps: count only what the arrival cost.
    expect(a.store.get(1)!.status).toBe('delivered');
    expect(offers).toEqual([true]);
    expect(claims.n - before).toBeLessThanOrEqual(1);
    // A row received while the pipeline was stopped is older: after a restart it is claimed before a
    // new arrival is taken.
    await a.pipeline.stop();
    await feed(a, 2);
    a.pipeline.start();
    await feed(a, 3);
    await new Promise((r) => setImmediate(r));
    await a.pipeline.idle();
    expect(order).toEqual(['n1', 'n2', 'n3']);
    // n2 was offered while stopped (refused) and claimed by the restart's pump, before n3 was taken.
    expect(offers).toEqual([true, false, true]);
  });
});

describe('pipeline batches (pipeline.batchDelay)', () => {
  /** An app whose handler `h` counts calls, and a count of the ledger transactions that record
   * outcomes (`finishMany`) with the number of rows in each. */
  function batchApp(pipeline: Record<string, unknown>) {
    const h = handler('h', async () => undefined);
    const a = testApp(
      tempDir(),
      {
        ...fast,
        pipeline: { ...fast.pipeline, ...pipeline },
        routes: [{ name: 'all', handlers: ['h'] }],
        handlers: { h: { maildir: { path: '/x' } } },
      },
      new Map([['h', h]]),
    );
    const commits: number[] = [];
    const store = a.store as unknown as { finishMany: (items: unknown[], now: number) => void };
    const real = store.finishMany.bind(a.store);
    store.finishMany = (items, now) => (commits.push(items.length), real(items, now));
    return { a, h, commits };
  }
  /** Received one after the other, each in its own turns of the event loop. */
  async function feedApart(a: App, ns: number[]) {
    for (const n of ns) {
      await feed(a, n);
      await new Promise((r) => setImmediate(r)); // intake offers the row on the next turn
    }
  }

  it('handles rows received within the delay together, their outcomes in one transaction; 0 handles each at once', async () => {
    const together = batchApp({ batchDelay: 1000 });
    app = together.a;
    app.pipeline.start();
    await app.pipeline.idle();
    await feedApart(app, [1, 2, 3]);
    expect(together.h.calls).toBe(0); // held for the batch
    await app.pipeline.idle();
    expect(together.h.calls).toBe(3);
    expect(together.commits).toEqual([3]);
    expect([1, 2, 3].map((id) => app!.store.get(id)!.status)).toEqual([
      'delivered',
      'delivered',
      'delivered',
    ]);
    await app.close();

    const each = batchApp({ batchDelay: 0 });
    app = each.a;
    app.pipeline.start();
    await app.pipeline.idle();
    await feedApart(app, [1, 2, 3]);
    await app.pipeline.idle();
    expect(each.h.calls).toBe(3);
    expect(each.commits).toEqual([1, 1, 1]);
  });

  it('a held row is never claimed meanwhile, and a batch that fills half the slots starts at once', async () => {
    const { a, h, commits } = batchApp({ batchDelay: '1h', concurrency: 4 });
    app = a;
    a.pipeline.start();
    await a.pipeline.idle();
    await feedApart(a, [1]);
    a.pipeline.wake(); // a pump now must not take the held row
    await new Promise((r) => setTimeout(r, 50));
    expect(h.calls).toBe(0);
    await feedApart(a, [2]); // two of four slots: the batch starts without waiting the hour
    await a.pipeline.idle();
    expect(h.calls).toBe(2);
    expect(commits).toEqual([2]);
  });

  it('stop() handles the held rows; a hard stop leaves them due for the next run', async () => {
    const soft = batchApp({ batchDelay: '1h' });
    app = soft.a;
    app.pipeline.start();
    await feedApart(app, [1]);
    expect(soft.h.calls).toBe(0);
    await app.pipeline.stop();
    expect(soft.h.calls).toBe(1);
    expect(app.store.get(1)!.status).toBe('delivered');
    await app.close();

    const hard = batchApp({ batchDelay: '1h' });
    app = hard.a;
    app.pipeline.start();
    await feedApart(app, [1]);
    await app.pipeline.abortInFlight();
    expect(hard.h.calls).toBe(0);
    expect(app.store.get(1)!.status).toBe('received');
  });

  it('a handler cut off by a hard stop is recorded as stopped by the shutdown, not as timed out', async () => {
    const hang = handler('hang', () => new Promise(() => undefined));
    app = testApp(
      tempDir(),
      {
        ...fast,
        pipeline: { ...fast.pipeline, handlerTimeout: '1h', batchDelay: 0 },
        routes: [{ name: 'all', handlers: ['hang'] }],
        handlers: { hang: { file: { path: '/x' } } },
      },
      new Map([['hang', hang]]),
    );
    app.pipeline.start();
    const id = await feed(app, 1);
    await waitFor(() => hang.calls === 1, { timeoutMs: 5000, what: 'the handler running' });
    await app.pipeline.abortInFlight();
    expect(app.store.get(id)).toMatchObject({ status: 'failed' });
    expect(app.store.get(id)?.reason).toMatch(/stopped by the shutdown deadline/);
  });
});
