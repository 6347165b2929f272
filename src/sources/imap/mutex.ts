/**
 * Per-source serialisation. All server work of one source (IDLE-triggered syncs, scheduled runs,
 * settle passes, watchdog probes) runs through one `Mutex`, so they never overlap on the single
 * connection. `Coalescer` turns a burst of triggers (many IDLE `exists` events) into one extra run.
 */

export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** True while a caller runs or waits. */
  get locked(): boolean {
    return this.pending > 0;
  }

  /** Runs `fn` after every earlier caller finished; the lock is released even when `fn` throws. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(fn).finally(() => {
      this.pending--;
    });
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Runs `fn` only when nobody holds or waits for the lock; returns undefined otherwise. */
  tryRun<T>(fn: () => Promise<T>): Promise<T> | undefined {
    if (this.pending > 0) return undefined;
    return this.run(fn);
  }
}

/**
 * Coalesces triggers: at most one run in progress and at most one queued behind it. A trigger
 * that arrives during a run makes exactly one more run afterwards (so nothing that arrived
 * mid-run is missed), however many triggers arrived.
 */
export class Coalescer {
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop();
    return this.running;
  }

  /** Refuses later triggers and resolves when the current run (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.again = false;
    await this.running;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.fn();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = null;
    }
  }
}
