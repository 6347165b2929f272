// The OAuth2 refresh-token provider against a tiny local token endpoint (tokenUrl override).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOAuth2Provider, defaultScope, tokenEndpoint } from '../../../../src/sources/auth/oauth2.js';

interface Seen {
  form: URLSearchParams;
}
let server: Server;
let url = '';
const seen: Seen[] = [];
let reply: (n: number) => { status: number; body: unknown } = () => ({ status: 200, body: {} });

async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += String(c);
  return s;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void body(req).then((b) => {
      seen.push({ form: new URLSearchParams(b) });
      const r = reply(seen.length);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/token`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('oauth2 provider', () => {
  it('knows the Google and Microsoft endpoints and scopes', () => {
    expect(tokenEndpoint({ provider: 'google', clientId: 'c', refreshToken: 'r' })).toBe(
      'https://oauth2.googleapis.com/token',
    );
    expect(
      tokenEndpoint({
        provider: 'microsoft',
        clientId: 'c',
        refreshToken: 'r',
        tenant: 'contoso.onmicrosoft.com',
      }),
    ).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token');
    expect(defaultScope({ provider: 'google', clientId: 'c', refreshToken: 'r' })).toBe(
      'https://mail.google.com/',
    );
    expect(() => tokenEndpoint({ provider: 'custom', clientId: 'c', refreshToken: 'r' })).toThrow(/tokenUrl/);
  });

  it('refreshes, caches until near expiry, rotates the refresh token, coalesces concurrent calls', async () => {
    seen.length = 0;
    reply = (n) => ({
      status: 200,
      body: { access_token: `at-${n}`, expires_in: 3600, ...(n === 1 ? { refresh_token: 'rt-2' } : {}) },
    });
    let t = 1_000_000;
    const p = createOAuth2Provider(
      { provider: 'google', clientId: 'cid', clientSecret: 'sec', refreshToken: 'rt-1', tokenUrl: url },
      { now: () => t },
    );
    const [a, b] = await Promise.all([p.getToken(), p.getToken()]);
    expect([a, b]).toEqual(['at-1', 'at-1']);
    expect(seen).toHaveLength(1);
    const f = seen[0]!.form;
    expect(f.get('grant_type')).toBe('refresh_token');
    expect(f.get('refresh_token')).toBe('rt-1');
    expect(f.get('client_id')).toBe('cid');
    expect(f.get('client_secret')).toBe('sec');
    expect(f.get('scope')).toBe('https://mail.google.com/');
    t += 30 * 60_000;
    expect(await p.getToken()).toBe('at-1');
    t += 26 * 60_000; // within the 5-minute margin of expiry
    expect(await p.getToken()).toBe('at-2');
    expect(seen[1]!.form.get('refresh_token')).toBe('rt-2');
    expect(await p.getToken({ forceRefresh: true })).toBe('at-3');
    p.invalidate();
    expect(await p.getToken()).toBe('at-4');
  });

  it('invalid_grant is permanent, 5xx is retryable, and no secret appears in the error', async () => {
    reply = () => ({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
    });
    const p = createOAuth2Provider({
      provider: 'microsoft',
      clientId: 'cid',
      refreshToken: 'SECRET-RT',
      tokenUrl: url,
    });
    const err = (await p.getToken().catch((e: unknown) => e)) as Error & { retryable: boolean };
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('invalid_grant');
    expect(err.message).not.toContain('SECRET');
    reply = () => ({ status: 503, body: {} });
    const err2 = (await p.getToken().catch((e: unknown) => e)) as Error & { retryable: boolean };
    expect(err2.retryable).toBe(true);
  });

  it('a network failure is retryable', async () => {
    const p = createOAuth2Provider({
      provider: 'custom',
      clientId: 'c',
      refreshToken: 'r',
      tokenUrl: 'http://127.0.0.1:1/token',
    });
    const err = (await p.getToken().catch((e: unknown) => e)) as Error & { retryable: boolean };
    expect(err.retryable).toBe(true);
  });
});
