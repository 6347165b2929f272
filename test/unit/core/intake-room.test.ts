/** Intake pacing: pull sources wait while too many received messages wait for the pipeline. */
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { tempDir, testApp } from '../../helpers/app.js';

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const MSG = (n: number) => Buffer.from(`Message-ID: <r${n}@test>\r\nSubject: ${n}\r\n\r\nbody\r\n`);

async function feed(a: App, n: number) {
  await a.intake.receive(MSG(n), {
    envelope: { mailFrom: null, rcptTo: [] },
    source: { kind: 'replay', source: 'replay', positionKey: `room:${n}` },
  });
}

describe('intake.room', () => {
  it('waits while `limit` received messages are unprocessed, and resumes as the pipeline finishes them', async () => {
    app = testApp(tempDir(), { routes: [{ name: 'all', action: 'drop' }] });
    for (let i = 0; i < 3; i++) await feed(app, i);
    let open = false;
    const waiting = app.intake.room(3, 10_000).then(() => (open = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(open).toBe(false); // nothing processed yet (the pipeline is not started)
    app.pipeline.start();
    await waiting;
    expect(open).toBe(true);
    await app.pipeline.idle();
    await app.intake.room(1, 10_000); // all three processed: no wait
    // A duplicate is final at insert and never counts as waiting.
    await app.intake.receive(MSG(0), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 'room:dup' },
    });
    await app.intake.room(1, 10_000);
  });

  it('gives up waiting after maxWaitMs (a stalled pipeline never stops intake)', async () => {
    app = testApp(tempDir(), { routes: [{ name: 'all', action: 'drop' }] });
    await feed(app, 1);
    const t0 = Date.now();
    await app.intake.room(1, 80);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(70);
  });
});
