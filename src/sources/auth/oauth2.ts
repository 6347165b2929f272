/**
 * OAuth2 access tokens from a refresh token (Google, Microsoft 365, or any token endpoint), for
 * XOAUTH2/OAUTHBEARER logins. Shared by the IMAP and POP3 sources. Guarantees: one refresh in
 * flight at a time, a token handed out is valid for at least `minValidityMs`, a rotated refresh
 * token (Microsoft) replaces the old one in memory, and no token or secret is ever logged or put
 * into an error message.
 */
import { MailintakeError, PermanentError, TemporaryError } from '../../core/errors.js';

/** The `oauth2` block of a source config. */
export interface OAuth2Settings {
  provider: 'google' | 'microsoft' | 'custom';
  clientId: string;
  clientSecret?: string | undefined;
  refreshToken: string;
  tokenUrl?: string | undefined;
  tenant?: string | undefined;
  scope?: string | undefined;
}

/** Hands out access tokens. */
export interface TokenProvider {
  /** A token valid for at least the provider's margin; `forceRefresh` ignores the cached one. */
  getToken(opts?: { forceRefresh?: boolean }): Promise<string>;
  /** Drops the cached token (e.g. after the server rejected it). */
  invalidate(): void;
}

export interface OAuth2ProviderOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Refresh when the cached token expires within this many ms (default 5 min). */
  minValidityMs?: number;
  timeoutMs?: number;
}

/** Token endpoint for the provider (the config's tokenUrl wins). */
export function tokenEndpoint(s: OAuth2Settings): string {
  if (s.tokenUrl) return s.tokenUrl;
  if (s.provider === 'google') return 'https://oauth2.googleapis.com/token';
  if (s.provider === 'microsoft') {
    return `https://login.microsoftonline.com/${encodeURIComponent(s.tenant ?? 'common')}/oauth2/v2.0/token`;
  }
  throw new PermanentError('oauth2.tokenUrl is required for provider "custom"', 'OAUTH2_CONFIG');
}

/** Scope requested on refresh (the config's scope wins). */
export function defaultScope(s: OAuth2Settings): string | undefined {
  if (s.scope) return s.scope;
  if (s.provider === 'google') return 'https://mail.google.com/';
  if (s.provider === 'microsoft') {
    return 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/POP.AccessAsUser.All offline_access';
  }
  return undefined;
}

interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** Builds a provider that refreshes with `grant_type=refresh_token`. */
export function createOAuth2Provider(
  settings: OAuth2Settings,
  opts: OAuth2ProviderOptions = {},
): TokenProvider {
  const doFetch = opts.fetch ?? fetch;
  const now = opts.now ?? Date.now;
  const margin = opts.minValidityMs ?? 5 * 60_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const url = tokenEndpoint(settings);
  let refreshToken = settings.refreshToken;
  let cached: { token: string; expiresAt: number } | null = null;
  let inflight: Promise<string> | null = null;

  const refresh = async (): Promise<string> => {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: settings.clientId,
      refresh_token: refreshToken,
    });
    if (settings.clientSecret) form.set('client_secret', settings.clientSecret);
    const scope = defaultScope(settings);
    if (scope) form.set('scope', scope);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new TemporaryError(`token endpoint unreachable (${(err as Error).name})`, 'OAUTH2_NETWORK', err);
    }
    let body: TokenResponse = {};
    try {
      body = (await res.json()) as TokenResponse;
    } catch {
      body = {};
    }
    if (!res.ok || typeof body.access_token !== 'string' || body.access_token === '') {
      const code =
        typeof body.error === 'string'
          ? body.error.replace(/[^\w.-]/g, '').slice(0, 64)
          : `http_${res.status}`;
      // invalid_grant / invalid_client / unauthorized_client need a human; 5xx and 429 may pass.
      const retryable = res.status >= 500 || res.status === 429 || (res.ok && code.startsWith('http_'));
      const msg = `token refresh failed: ${code} (HTTP ${res.status})`;
      throw retryable
        ? new TemporaryError(msg, 'OAUTH2_REFRESH')
        : new MailintakeError(msg, { code: 'OAUTH2_REFRESH', retryable: false });
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    cached = {
      token: body.access_token,
      expiresAt: now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000,
    };
    if (typeof body.refresh_token === 'string' && body.refresh_token) refreshToken = body.refresh_token;
    return cached.token;
  };

  return {
    async getToken(o = {}) {
      if (!o.forceRefresh && cached && cached.expiresAt - now() > margin) return cached.token;
      if (!inflight) {
        inflight = refresh().finally(() => {
          inflight = null;
        });
      }
      return inflight;
    },
    invalidate() {
      cached = null;
    },
  };
}

/** A provider for a fixed access token (config `accessToken`): nothing to refresh. */
export function staticTokenProvider(token: string): TokenProvider {
  return { getToken: () => Promise.resolve(token), invalidate: () => undefined };
}
