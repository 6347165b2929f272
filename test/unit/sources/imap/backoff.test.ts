import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../../../src/sources/imap/backoff.js';
import { Coalescer, Mutex } from '../../../../src/sources/imap/mutex.js';

const policy = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.5 };

describe('backoffDelay', () => {
  it('grows exponentially and caps', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, policy, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });
  it('jitters within [delay*(1-jitter), delay]', () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(2000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(4, policy);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
  it('treats attempt < 1 as the first retry', () => {
    expect(backoffDelay(0, policy, () => 1)).toBe(1000);
  });
});

describe('Mutex', () => {
  it('never runs two holders at once, in call order, and survives throws', async () => {
    const m = new Mutex();
    let inside = 0;
    let max = 0;
    const order: number[] = [];
    const job = (i: number, fail = false) =>
      m.run(async () => {
        inside++;
        max = Math.max(max, inside);
        await new Promise((r) => setImmediate(r));
        order.push(i);
        inside--;
        if (fail) throw new Error('x');
      });
    await Promise.allSettled([job(1), job(2, true), job(3)]);
    expect(max).toBe(1);
    expect(order).toEqual([1, 2, 3]);
    expect(m.locked).toBe(false);
  });
  it('tryRun declines while held', async () => {
    const m = new Mutex();
    let release!: () => void;
    const held = m.run(() => new Promise<void>((r) => (release = r)));
    expect(m.tryRun(() => Promise.resolve(1))).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    release();
    await held;
    expect(await m.tryRun(() => Promise.resolve(1))).toBe(1);
  });
});

describe('Coalescer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  it('turns a burst of triggers during a run into exactly one more run', async () => {
    let runs = 0;
    const c = new Coalescer(
      async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 100));
      },
      () => undefined,
    );
    const first = c.trigger();
    for (let i = 0; i < 10; i++) void c.trigger();
    await vi.advanceTimersByTimeAsync(1000);
    await first;
    expect(runs).toBe(2);
    await c.stop();
    await c.trigger();
    expect(runs).toBe(2);
  });
  it('reports errors and keeps going', async () => {
    const errors: unknown[] = [];
    const c = new Coalescer(
      () => Promise.reject(new Error('boom')),
      (e) => errors.push(e),
    );
    await c.trigger();
    await c.trigger();
    expect(errors).toHaveLength(2);
  });
});
