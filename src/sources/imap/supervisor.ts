/**
 * One supervised IMAP connection per source. imapflow never reconnects and an instance is
 * single-use, so every attempt builds a NEW ImapFlow (fresh credentials), with `error`/`close`
 * listeners attached before `connect()`. Failures back off exponentially with jitter; a watchdog
 * probes an idle connection with NOOP and drops it when the probe does not come back in time.
 */
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import { MailintakeError } from '../../core/errors.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { Mutex } from './mutex.js';

export interface SupervisorOptions {
  log: Logger;
  /** Builds a new, unconnected client; `reconnect` is true for every attempt after the first. */
  create: (reconnect: boolean) => Promise<ImapFlow>;
  backoff: BackoffPolicy;
  watchdog: { intervalMs: number; timeoutMs: number };
  /** The source's mutex: the watchdog probes only when no sync or settle is running. */
  mutex: Mutex;
  onConnected: () => void;
  onExists: (path: string) => void;
  onAuthFailure: () => void;
  now?: () => number;
}

/** Thrown when no connection is available (in backoff or stopped). Retryable. */
export class ImapUnavailableError extends MailintakeError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'IMAP_UNAVAILABLE', retryable: true, cause });
  }
}

/** One-line error text for logs and health: code, message and the server's reply text (never
 * the command, which could carry credentials). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: unknown; responseText?: unknown; authenticationFailed?: boolean };
  const code = e.authenticationFailed ? 'AUTHENTICATIONFAILED' : typeof e.code === 'string' ? e.code : null;
  const reply =
    typeof e.responseText === 'string' && e.responseText ? ` (server: ${e.responseText.slice(0, 200)})` : '';
  // Node's system errors already start with their code ("ENOENT: no such file…"): not twice.
  const prefix = code && !e.message.startsWith(`${code}:`) ? `${code}: ` : '';
  return `${prefix}${e.message}${reply}`;
}

export class Supervisor {
  private client: ImapFlow | null = null;
  private connecting: Promise<ImapFlow> | null = null;
  private failures = 0;
  private everConnected = false;
  private keepAlive = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  lastError: string | null = null;
  lastErrorAt: number | null = null;
  backoffUntil: number | null = null;

  constructor(private readonly o: SupervisorOptions) {
    this.now = o.now ?? Date.now;
  }

  get connected(): boolean {
    return this.client?.usable === true;
  }

  /** Keeps a connection up from now on (IDLE mode): reconnects after every loss. */
  start(): void {
    if (this.stopped || this.keepAlive) return;
    this.keepAlive = true;
    this.watchdogTimer = setInterval(() => this.probe(), this.o.watchdog.intervalMs);
    this.watchdogTimer.unref();
    if (!this.client && !this.connecting) this.connect().catch(() => undefined);
  }

  /** The connected client, connecting now if there is none. Rejects while in backoff. */
  async acquire(): Promise<ImapFlow> {
    if (this.stopped) throw new ImapUnavailableError('source stopped');
    if (this.client?.usable) return this.client;
    if (this.connecting) return this.connecting;
    if (this.backoffUntil !== null && this.now() < this.backoffUntil) {
      throw new ImapUnavailableError(
        `not connected; next attempt at ${new Date(this.backoffUntil).toISOString()} (${this.lastError ?? 'no error'})`,
      );
    }
    return this.connect();
  }

  /** Drops the current connection (after a protocol error) so the next acquire reconnects. */
  discard(reason: string): void {
    const c = this.client;
    if (!c) return;
    this.o.log.warn({ action: 'discard', reason }, 'dropping IMAP connection');
    c.close();
  }

  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    this.keepAlive = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.reconnectTimer = null;
    this.watchdogTimer = null;
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    if (!c) return;
    await withTimeout(c.logout(), Math.max(100, Math.min(deadlineMs, 5_000))).catch(() => undefined);
    c.close();
  }

  private connect(): Promise<ImapFlow> {
    const reconnect = this.everConnected || this.failures > 0;
    const attempt = (async () => {
      const client = await this.o.create(reconnect);
      // Listeners before connect(): an unhandled 'error' would kill the process.
      client.on('error', (err: unknown) => this.noteError(err, 'connection error'));
      client.on('close', () => this.onClose(client));
      client.on('exists', (e: { path: string }) => this.o.onExists(e.path));
      try {
        await client.connect();
      } catch (err) {
        if ((err as { authenticationFailed?: boolean }).authenticationFailed) this.o.onAuthFailure();
        client.close();
        throw err;
      }
      this.client = client;
      this.failures = 0;
      this.everConnected = true;
      this.backoffUntil = null;
      this.o.log.info({ action: 'connected', secure: client.secureConnection }, 'IMAP connected');
      return client;
    })();
    this.connecting = attempt;
    attempt.then(
      () => {
        this.connecting = null;
        this.o.onConnected();
      },
      (err: unknown) => {
        this.connecting = null;
        this.noteError(err, 'connect failed');
        this.failures++;
        this.armBackoff();
      },
    );
    return attempt;
  }

  private onClose(client: ImapFlow): void {
    if (client !== this.client) return;
    this.client = null;
    this.o.log.warn(
      { action: 'closed', idlingAtClose: client.idlingAtClose, byClient: client.closedByClient },
      'IMAP connection closed',
    );
    if (this.stopped) return;
    this.failures++;
    this.armBackoff();
  }

  /** Sets backoffUntil; in keep-alive mode also schedules the reconnect. */
  private armBackoff(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures, this.o.backoff);
    this.backoffUntil = this.now() + delay;
    if (!this.keepAlive || this.reconnectTimer) return;
    this.o.log.info(
      { action: 'backoff', attempt: this.failures, delayMs: delay },
      'reconnecting after backoff',
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.stopped || this.client || this.connecting) return;
      this.connect().catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }

  private noteError(err: unknown, what: string): void {
    this.lastError = errorText(err);
    this.lastErrorAt = this.now();
    this.o.log.warn({ action: 'imap-error', err: this.lastError }, what);
  }

  /** Watchdog tick: NOOP with a deadline when the connection is free; also revives a stuck loop. */
  private probe(): void {
    const c = this.client;
    if (!c) {
      if (this.keepAlive && !this.connecting && !this.reconnectTimer && !this.stopped) {
        this.connect().catch(() => undefined);
      }
      return;
    }
    void this.o.mutex.tryRun(async () => {
      if (c !== this.client || !c.usable) return;
      try {
        await withTimeout(c.noop(), this.o.watchdog.timeoutMs);
      } catch (err) {
        this.noteError(err, 'watchdog probe failed');
        c.close();
      }
    });
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ImapUnavailableError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
