/**
 * ImapFlow options from the source config: implicit TLS or mandatory STARTTLS, certificate
 * verification on unless turned off, a private CA added to (not replacing) the system roots,
 * password or OAuth2 token, and imapflow's own logging routed into a quiet pino child.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { ImapFlowOptions } from 'imapflow';
import type { Logger } from 'pino';
import type { ImapConfig } from '../../config/schema.js';
import { createOAuth2Provider, staticTokenProvider, type TokenProvider } from '../auth/oauth2.js';

/** Credentials for one connect: a password, or a token fetched fresh for this connection. */
export type Credentials = { user: string; pass: string } | { user: string; accessToken: string };

/** Returns a function producing credentials for each new connection (fresh token on reconnect). */
export function credentialSource(cfg: ImapConfig): {
  get(reconnect: boolean): Promise<Credentials>;
  onAuthFailure(): void;
} {
  let tokens: TokenProvider | null = null;
  if (cfg.oauth2) tokens = createOAuth2Provider(cfg.oauth2);
  else if (cfg.accessToken) tokens = staticTokenProvider(cfg.accessToken);
  return {
    async get(reconnect) {
      if (tokens) return { user: cfg.user, accessToken: await tokens.getToken({ forceRefresh: reconnect }) };
      return { user: cfg.user, pass: cfg.password ?? '' };
    },
    onAuthFailure() {
      tokens?.invalidate();
    },
  };
}

/** Reads the CA file once per call (callers pass it absolute; a relative path resolves against the cwd). */
export function trustedCas(caFile: string | undefined): string[] | undefined {
  if (!caFile) return undefined;
  return [...rootCertificates, readFileSync(resolve(process.cwd(), caFile), 'utf8')];
}

/** Tunables the supervisor sets (tests shorten them). */
export interface ClientTuning {
  autoIdleDelayMs: number;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
}

export const DEFAULT_TUNING: ClientTuning = {
  autoIdleDelayMs: 500,
  connectionTimeoutMs: 30_000,
  greetingTimeoutMs: 16_000,
};

/** imapflow logs every NO reply at warn; keep only its errors, never more than the parent logs. */
function quietChild(log: Logger): Logger {
  const level = log.levelVal > log.levels.values.error! ? log.level : 'error';
  return log.child({ mod: 'imapflow' }, { level });
}

export function clientOptions(
  cfg: ImapConfig,
  creds: Credentials,
  log: Logger,
  tuning: ClientTuning = DEFAULT_TUNING,
  idle = true,
): ImapFlowOptions {
  const ca = trustedCas(cfg.tls.caFile);
  const tls: NonNullable<ImapFlowOptions['tls']> = { rejectUnauthorized: cfg.tls.rejectUnauthorized };
  if (ca) tls.ca = ca;
  if (cfg.tls.servername) tls.servername = cfg.tls.servername;
  const opts: ImapFlowOptions = {
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    // secure:false + starttls:true → STARTTLS is required (never a silent cleartext fallback).
    doSTARTTLS: !cfg.secure && cfg.starttls,
    tls,
    auth: creds,
    logger: quietChild(log),
    logRaw: false,
    socketTimeout: cfg.socketTimeout,
    maxIdleTime: cfg.idleRestart,
    autoIdleDelay: tuning.autoIdleDelayMs,
    disableAutoIdle: !idle,
    connectionTimeout: tuning.connectionTimeoutMs,
    greetingTimeout: tuning.greetingTimeoutMs,
    // Bound memory: a literal larger than this ends the connection instead of filling the heap.
    maxLiteralSize: Math.max(cfg.maxMessageSize, 1024 * 1024) + 1024 * 1024,
    clientInfo: { name: 'mailintake' },
  };
  if (cfg.tls.servername) opts.servername = cfg.tls.servername;
  return opts;
}
