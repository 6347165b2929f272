/** startService without sources: stop() honours its deadline (handlers still running are aborted
 * before it, and retried later), and `once` resolves 0 for a clean pass, 1 with a dead letter. */
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { PermanentError } from '../../../src/core/errors.js';
import type { Handler } from '../../../src/handlers/types.js';
import { startService } from '../../../src/service/run.js';
import { tempDir, testApp } from '../../helpers/app.js';

const MSG = (n: number) =>
  Buffer.from(
    `Message-ID: <r${n}@test>\r\nFrom: a@b.example\r\nTo: c@d.example\r\nSubject: n${n}\r\n\r\nbody\r\n`,
  );

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function make(handle: Handler['handle'], extra: Record<string, unknown> = {}): App {
  const h: Handler = { name: 'h', handle };
  app = testApp(
    tempDir('mi-svc-run-'),
    {
      pipeline: { backoffBase: 1, backoffMax: 5, maxAttempts: 3 },
      routes: [{ name: 'all', handlers: ['h'] }],
      handlers: { h: { maildir: { path: '/nonexistent' } } },
      ...extra,
    },
    new Map([['h', h]]),
  );
  return app;
}

async function feed(a: App, n: number): Promise<number> {
  const r = await a.intake.receive(MSG(n), {
    envelope: { mailFrom: null, rcptTo: [] },
    source: { kind: 'replay', source: 'replay', positionKey: `t:${n}` },
  });
  return r.row.id;
}

describe('startService', () => {
  it('stop() aborts handlers still running before the deadline, and they are retried later', async () => {
    let aborted = 0;
    const a = make(
      (_m, call) =>
        new Promise<void>((_resolve, reject) => {
          call.signal.addEventListener('abort', () => {
            aborted++;
            reject(new Error('aborted'));
          });
        }),
    );
    const svc = await startService(a, { push: false, once: false });
    const ids = [await feed(a, 1), await feed(a, 2)];
    while (a.pipeline.busy < 2) await new Promise((r) => setImmediate(r));
    const t0 = Date.now();
    await svc.stop(1_000);
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1_000);
    expect(took).toBeGreaterThanOrEqual(850); // graceful until deadline minus the reserve
    expect(aborted).toBe(2);
    for (const id of ids) expect(a.store.get(id)?.status).toBe('failed');
  });

  it('stop() returns at once when nothing is running', async () => {
    const a = make(() => Promise.resolve());
    const svc = await startService(a, { push: false, once: false });
    const t0 = Date.now();
    await svc.stop(30_000);
    expect(Date.now() - t0).toBeLessThan(500);
  });

  it('once: 0 after a clean pass, 1 when a message ended dead', async () => {
    const a = make((m) =>
      m.raw.includes('r2@test') ? Promise.reject(new PermanentError('no', 'NO')) : Promise.resolve(),
    );
    // Messages already in the ledger (e.g. replayed) are processed by the pass too.
    await feed(a, 1);
    const clean = await startService(a, { push: false, once: true });
    expect(await clean.done).toBe(0);
    await clean.stop(1_000);
    await a.close();

    const b = make((m) =>
      m.raw.includes('r2@test') ? Promise.reject(new PermanentError('no', 'NO')) : Promise.resolve(),
    );
    await feed(b, 1);
    await feed(b, 2);
    const dirty = await startService(b, { push: false, once: true });
    expect(await dirty.done).toBe(1);
    await dirty.stop(1_000);
  });
});
