/**
 * `awaitOutcomes` for sources: resolves when every id is final or failed, or at the deadline.
 * The deadline timer is unref'd: a source still waiting when the worker stops (an IMAP pass waits
 * up to a minute for outcomes) must not keep the process alive after a graceful shutdown.
 */
import type { Pipeline } from '../core/pipeline.js';
import type { Store } from '../store/types.js';

export function outcomeWaiter(store: Store, pipeline: Pipeline) {
  return (ids: number[], timeoutMs: number): Promise<void> => {
    const pending = new Set(
      ids.filter((id) => {
        const s = store.get(id)?.status;
        return s === 'received' || s === 'processing';
      }),
    );
    if (!pending.size) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const off = pipeline.onOutcome((e) => {
        pending.delete(e.row.id);
        if (!pending.size) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  };
}
