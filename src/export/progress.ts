/**
 * Progress for export/restore: on a TTY a single `\r`-redrawn line (messages, bytes, rate, ETA);
 * otherwise a pino `progress` event every `intervalMs`. Rendering is pure (`renderProgress`).
 */
import type { Logger } from 'pino';

export interface ProgressSnapshot {
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i] as string}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Rate (messages/s, bytes/s) and ETA from bytes when known, else from message count. */
export function progressStats(p: ProgressSnapshot): { rate: number; byteRate: number; etaMs: number } {
  const secs = Math.max(p.elapsedMs / 1000, 1e-3);
  const rate = p.done / secs;
  const byteRate = p.bytes / secs;
  let etaMs = Number.NaN;
  if (p.totalBytes > 0 && byteRate > 0) etaMs = ((p.totalBytes - p.bytes) / byteRate) * 1000;
  else if (p.total > 0 && rate > 0) etaMs = ((p.total - p.done) / rate) * 1000;
  return { rate, byteRate, etaMs: Math.max(0, etaMs) };
}

/** One bar line, at most `width` columns. */
export function renderProgress(p: ProgressSnapshot, label: string, width = 80): string {
  const { rate, byteRate, etaMs } = progressStats(p);
  const frac = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.total > 0 ? p.done / p.total : 0;
  const text = ` ${p.done}/${p.total} msgs ${formatBytes(p.bytes)} ${rate.toFixed(0)}/s ${formatBytes(byteRate)}/s ETA ${formatDuration(etaMs)}`; // prettier-ignore
  const barWidth = Math.max(0, Math.min(30, width - text.length - label.length - 4));
  const filled = Math.round(Math.min(1, Math.max(0, frac)) * barWidth);
  const bar = barWidth > 0 ? ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : '';
  return `${label}${bar}${text}`.slice(0, width);
}

export interface ProgressOptions {
  log: Logger;
  label: string;
  /** Where the bar is drawn; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Force TTY or plain mode (default: stream.isTTY). */
  tty?: boolean;
  intervalMs?: number;
  now?: () => number;
}

export class Progress {
  private done = 0;
  private bytes = 0;
  private total = 0;
  private totalBytes = 0;
  private readonly start: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? this.stream.isTTY === true;
    this.now = o.now ?? Date.now;
    this.start = this.now();
  }

  /** Adds planned work (called per folder as planning finds it). */
  plan(messages: number, bytes: number): void {
    this.total += messages;
    this.totalBytes += bytes;
    this.ensureTimer();
  }

  tick(bytes: number): void {
    this.done++;
    this.bytes += bytes;
  }

  snapshot(): ProgressSnapshot {
    return { done: this.done, total: this.total, bytes: this.bytes, totalBytes: this.totalBytes, elapsedMs: this.now() - this.start }; // prettier-ignore
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), this.o.intervalMs ?? (this.tty ? 200 : 5000));
    this.timer.unref();
  }

  private draw(): void {
    const s = this.snapshot();
    if (this.tty) {
      this.stream.write(`\r${renderProgress(s, this.o.label, this.stream.columns ?? 80)}\u001b[K`);
      return;
    }
    const { rate, byteRate, etaMs } = progressStats(s);
    this.o.log.info({ action: 'progress', ...s, rate: Math.round(rate), byteRate: Math.round(byteRate), etaMs: Math.round(etaMs) }); // prettier-ignore
  }

  /** Stops redrawing; on a TTY leaves the final line in place. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.tty && this.total > 0) {
      this.stream.write(
        `\r${renderProgress(this.snapshot(), this.o.label, this.stream.columns ?? 80)}\u001b[K\n`,
      );
    }
  }
}
