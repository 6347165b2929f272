/**
 * Per-client-IP limits for the push listener: concurrent connections, and connections plus
 * messages per fixed time window. Pure state with an injectable clock; the listener asks before
 * accepting a connection or a MAIL FROM and releases on close.
 */

export interface IpLimits {
  /** Concurrent connections per IP (undefined = no cap). */
  maxConcurrent?: number | undefined;
  /** Connections + messages per IP per window (undefined = no rate limit). */
  perWindow?: { max: number; windowMs: number } | undefined;
  now?: () => number;
}

export type LimitVerdict = 'ok' | 'concurrency' | 'rate';

interface WindowCount {
  start: number;
  n: number;
}

export class IpLimiter {
  private readonly live = new Map<string, number>();
  private readonly counts = new Map<string, WindowCount>();
  private readonly now: () => number;
  private lastPrune = 0;

  constructor(private readonly limits: IpLimits) {
    this.now = limits.now ?? Date.now;
  }

  /** Counts a new connection; on 'ok' the caller must call release(ip) when it closes. */
  connect(ip: string): LimitVerdict {
    const live = this.live.get(ip) ?? 0;
    if (this.limits.maxConcurrent !== undefined && live >= this.limits.maxConcurrent) return 'concurrency';
    if (!this.take(ip)) return 'rate';
    this.live.set(ip, live + 1);
    return 'ok';
  }

  release(ip: string): void {
    const live = (this.live.get(ip) ?? 0) - 1;
    if (live > 0) this.live.set(ip, live);
    else this.live.delete(ip);
  }

  /** Counts one message (MAIL FROM); false when the IP is over its rate. */
  message(ip: string): boolean {
    return this.take(ip);
  }

  liveConnections(ip: string): number {
    return this.live.get(ip) ?? 0;
  }

  private take(ip: string): boolean {
    const w = this.limits.perWindow;
    if (!w) return true;
    const now = this.now();
    this.prune(now, w.windowMs);
    const c = this.counts.get(ip);
    if (!c || now - c.start >= w.windowMs) {
      this.counts.set(ip, { start: now, n: 1 });
      return true;
    }
    if (c.n >= w.max) return false;
    c.n++;
    return true;
  }

  private prune(now: number, windowMs: number): void {
    if (now - this.lastPrune < windowMs) return;
    this.lastPrune = now;
    for (const [ip, c] of this.counts) if (now - c.start >= windowMs) this.counts.delete(ip);
  }
}
