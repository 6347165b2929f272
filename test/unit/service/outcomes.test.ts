import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OutcomeEvent, Pipeline } from '../../../src/core/pipeline.js';
import { outcomeWaiter } from '../../../src/service/outcomes.js';
import type { LedgerRow, Store } from '../../../src/store/types.js';

function fakes(statuses: Record<number, string>) {
  const listeners = new Set<(e: OutcomeEvent) => void>();
  const store = { get: (id: number) => (id in statuses ? { id, status: statuses[id] } : undefined) };
  const pipeline = {
    onOutcome(fn: (e: OutcomeEvent) => void) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  const emit = (id: number, status: OutcomeEvent['status'] = 'delivered') => {
    statuses[id] = status;
    for (const l of [...listeners]) l({ row: { id } as LedgerRow, status, reason: null });
  };
  const wait = outcomeWaiter(store as unknown as Store, pipeline as unknown as Pipeline);
  return { wait, emit, listeners };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('outcomeWaiter', () => {
  it('resolves at once when nothing is pending', async () => {
    const { wait, listeners } = fakes({ 1: 'delivered', 2: 'dead' });
    await wait([1, 2, 3], 60_000);
    expect(listeners.size).toBe(0);
  });

  it('resolves when every pending id has an outcome, and unsubscribes', async () => {
    const { wait, emit, listeners } = fakes({ 1: 'received', 2: 'processing', 3: 'delivered' });
    let done = false;
    const p = wait([1, 2, 3], 60_000).then(() => (done = true));
    emit(1);
    await Promise.resolve();
    expect(done).toBe(false);
    emit(2, 'failed'); // a retry later also ends the wait
    await p;
    expect(listeners.size).toBe(0);
  });

  it('resolves at the deadline', async () => {
    vi.useFakeTimers();
    const { wait, listeners } = fakes({ 1: 'received' });
    let done = false;
    const p = wait([1], 5_000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(4_999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(listeners.size).toBe(0);
  });

  it('does not keep the process alive while waiting (unref timer)', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const { wait, emit } = fakes({ 1: 'received' });
    const p = wait([1], 60_000);
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    emit(1);
    return p;
  });
});
