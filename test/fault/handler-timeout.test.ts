// Regression (found by the fault suite): the command and webhook handlers' own timeouts used
// AbortSignal.any([call.signal, AbortSignal.timeout(ms)]); on Node 20 the timeout signal inside the
// composite can be garbage collected before it fires (nodejs/node#57736), so a hung handler ran
// until the pipeline's handlerTimeout (120 s) instead of its 400 ms. Under GC pressure every call
// must end by its own deadline, and the hung program must be killed.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TemporaryError } from '../../src/core/errors.js';
import type { MessageContext } from '../../src/core/parsed.js';
import type { RouteMatch } from '../../src/core/router.js';
import { createCommandHandler } from '../../src/handlers/command.js';
import type { HandlerCall } from '../../src/handlers/types.js';
import { genMessage } from '../helpers/gen.js';
import { tempDir, testApp } from '../helpers/app.js';

const msg = {
  id: 1,
  sha256: 'a'.repeat(64),
  raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
  receivedAt: new Date(),
  envelope: { mailFrom: null, rcptTo: [] },
} as unknown as MessageContext;
const call = (): HandlerCall =>
  ({
    idempotencyKey: 'k:all/h',
    attempt: 1,
    match: { route: { name: 'all' } } as unknown as RouteMatch,
    signal: new AbortController().signal,
    log: { child: () => call().log, debug() {}, info() {}, warn() {}, error() {} },
  }) as unknown as HandlerCall;

/** Churns the heap while `p` runs so that weakly held timers would be collected. */
async function underGcPressure<T>(p: Promise<T>): Promise<T> {
  let done = false;
  const churn = (async () => {
    while (!done) {
      for (let i = 0; i < 200; i++) void new Array(10_000).fill(i);
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    return await p;
  } finally {
    done = true;
    await churn;
  }
}

describe('handler deadlines fire under GC pressure', () => {
  it('command: 40 hung programs with a 300 ms timeout all end as temporary TIMEOUT within 5 s', async () => {
    const dir = tempDir('mi-deadline-');
    const hang = join(dir, 'hang.mjs');
    writeFileSync(hang, 'setTimeout(() => {}, 1_000_000);\n');
    const h = createCommandHandler('hang', { argv: [process.execPath, hang], input: 'raw', timeoutMs: 300 });
    const t0 = Date.now();
    const results = await underGcPressure(
      Promise.all(
        Array.from({ length: 40 }, () =>
          h.handle(msg, call()).then(
            () => 'resolved',
            (e: unknown) => e,
          ),
        ),
      ),
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
    for (const r of results) {
      expect(r).toBeInstanceOf(TemporaryError);
      expect((r as TemporaryError).message).toMatch(/timed out/);
    }
  }, 30_000);

  it("webhook: 20 messages to a receiver that never answers end by the 300 ms timeout, not the pipeline's", async () => {
    const server = createServer(() => undefined); // accepts, never responds
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const app = testApp(tempDir('mi-deadline-hook-'), {
      pipeline: { maxAttempts: 1, handlerTimeout: '60s' },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url, timeout: '300ms' } } },
    });
    try {
      app.pipeline.start();
      const ids: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await app.intake.receive(genMessage(i, { tag: 'deadline', size: 500 }), {
          envelope: { mailFrom: null, rcptTo: [] },
          source: { kind: 'replay', source: 'replay', positionKey: `dl:${i}` },
        });
        ids.push(r.row.id);
      }
      const t0 = Date.now();
      await underGcPressure(app.pipeline.idle({ retries: false }));
      expect(Date.now() - t0).toBeLessThan(10_000);
      for (const id of ids) {
        const row = app.store.get(id);
        expect(row?.status).toBe('dead');
        expect(row?.reason).not.toMatch(/did not finish within 60000/);
      }
    } finally {
      await app.close();
      server.closeAllConnections();
      server.close();
    }
  }, 30_000);
});
