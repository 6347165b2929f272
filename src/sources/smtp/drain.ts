/** A set of in-flight keys with a way to wait (until a deadline) for it to become empty. */
export class Drain {
  private readonly keys = new Set<string>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.keys.size;
  }

  add(key: string): void {
    this.keys.add(key);
  }

  delete(key: string): void {
    if (this.keys.delete(key) && this.keys.size === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  /** Resolves true when empty, false when the deadline (epoch ms) passed first. */
  idle(deadline: number): Promise<boolean> {
    if (this.keys.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
