/**
 * Client options and credentials from the pop3 config: implicit TLS or mandatory STLS (never a
 * silent cleartext fallback), certificate verification on unless turned off, a private CA added
 * to (not replacing) the system roots, and the login method chosen once from config, greeting and
 * CAPA. Tokens come from the shared OAuth2 provider (`../auth/oauth2.ts`), fresh after a failure.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { Pop3Config } from '../../config/schema.js';
import { createOAuth2Provider, staticTokenProvider, type TokenProvider } from '../auth/oauth2.js';
import { Pop3Error, type Pop3Auth, type Pop3Capabilities, type Pop3ClientOptions } from './client.js';
import * as proto from './protocol.js';

/** Connection options without credentials (login happens after CAPA). */
export function connectOptions(cfg: Pop3Config, baseDir: string, pipelining = true): Pop3ClientOptions {
  const tls = cfg.secure ? 'implicit' : cfg.starttls ? 'starttls' : 'none';
  const opts: Pop3ClientOptions = {
    host: cfg.host,
    port: cfg.port,
    tls,
    rejectUnauthorized: cfg.tls.rejectUnauthorized,
    timeoutMs: cfg.commandTimeout,
    // The source enforces maxMessageSize itself (LIST sizes, intake maxBytes); the client cap is a
    // backstop against a server lying about sizes.
    maxMessageBytes: cfg.maxMessageSize + 1024 * 1024,
    pipelining,
  };
  if (cfg.tls.caFile) {
    opts.ca = [...rootCertificates, readFileSync(resolve(baseDir, cfg.tls.caFile), 'utf8')];
  }
  if (cfg.tls.servername) opts.servername = cfg.tls.servername;
  return opts;
}

export type AuthMethod = 'user' | 'apop' | 'xoauth2';

/**
 * auto → XOAUTH2 when a token or oauth2 block is configured, else USER/PASS. An explicit method is
 * checked against what the server offers: APOP needs a greeting timestamp; XOAUTH2 needs SASL
 * XOAUTH2 in CAPA when the server lists SASL at all. Throws a non-retryable Pop3Error otherwise.
 */
export function chooseAuth(
  cfg: Pick<Pop3Config, 'auth' | 'accessToken' | 'oauth2' | 'password'>,
  greeting: string,
  caps: Pop3Capabilities | undefined,
): AuthMethod {
  const hasToken = cfg.accessToken !== undefined || cfg.oauth2 !== undefined;
  const method: AuthMethod = cfg.auth === 'auto' ? (hasToken ? 'xoauth2' : 'user') : cfg.auth;
  const unsupported = (msg: string) => new Pop3Error('UNSUPPORTED', msg, false, { command: 'AUTH' });
  if (method === 'xoauth2') {
    if (!hasToken) throw unsupported('auth xoauth2 needs accessToken or oauth2 in the config');
    const sasl = caps?.get('SASL');
    if (sasl && !sasl.some((m) => m.toUpperCase() === 'XOAUTH2'))
      throw unsupported(`server does not offer SASL XOAUTH2 (offers: ${sasl.join(' ') || 'none'})`);
  } else if (method === 'apop') {
    if (!proto.apopTimestamp(greeting)) throw unsupported('auth apop: server greeting has no timestamp');
  }
  if (method !== 'xoauth2' && cfg.password === undefined)
    throw unsupported(`auth ${method} needs a password in the config`);
  return method;
}

/** Produces credentials per login; a rejected token is dropped so the next login refreshes it. */
export class Credentials {
  private readonly tokens: TokenProvider | null;
  private refreshNext = false;

  constructor(private readonly cfg: Pop3Config) {
    if (cfg.oauth2) this.tokens = createOAuth2Provider(cfg.oauth2);
    else if (cfg.accessToken) this.tokens = staticTokenProvider(cfg.accessToken);
    else this.tokens = null;
  }

  async forMethod(method: AuthMethod): Promise<Pop3Auth> {
    if (method === 'xoauth2') {
      if (!this.tokens) throw new Pop3Error('UNSUPPORTED', 'no token configured', false, { command: 'AUTH' });
      const token = await this.tokens.getToken({ forceRefresh: this.refreshNext });
      this.refreshNext = false;
      return { user: this.cfg.user, accessToken: token };
    }
    const password = this.cfg.password ?? '';
    return method === 'apop'
      ? { user: this.cfg.user, password, method: 'apop' }
      : { user: this.cfg.user, password };
  }

  /** The server refused the login: the next one fetches a fresh token. */
  onAuthFailure(): void {
    this.tokens?.invalidate();
    this.refreshNext = this.tokens !== null;
  }
}
