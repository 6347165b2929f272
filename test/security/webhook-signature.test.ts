// Webhook signatures checked by an independent reference receiver that follows the README recipe
// verbatim (HMAC-SHA256 over "<timestamp>.<raw body>", constant-time compare): every real delivery
// verifies; a tampered body, a changed timestamp, a wrong secret or a missing header fail.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { genMessage } from '../helpers/gen.js';
import { tempDir, testApp } from '../helpers/app.js';

const SECRET = 'reference-receiver-secret';

/** The README's verification snippet, as a receiver would write it (no import from src/). */
function verify(secret: string, headers: IncomingHttpHeaders, rawBody: Buffer): boolean {
  const sig = headers['x-mailintake-signature'];
  const ts = headers['x-mailintake-timestamp'];
  if (typeof sig !== 'string' || typeof ts !== 'string') return false;
  const expected = 'sha256=' + createHmac('sha256', secret).update(`${ts}.`).update(rawBody).digest('hex');
  const a = Buffer.from(expected);
  const b = Buffer.from(sig);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Got {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('webhook signatures (reference receiver)', () => {
  let server: Server | null = null;
  let app: App | null = null;
  afterAll(async () => {
    await app?.close();
    server?.close();
  });

  it('every delivery verifies; tampering with body, timestamp, secret or headers fails', async () => {
    const got: Got[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const ok = verify(SECRET, req.headers, body);
        if (ok) got.push({ headers: req.headers, body });
        res.writeHead(ok ? 200 : 401).end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    app = testApp(tempDir('mi-sec-hook-'), {
      pipeline: { maxAttempts: 1 },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url, secret: SECRET, timeout: '5s' } } },
    });
    app.pipeline.start();
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await app.intake.receive(genMessage(i, { tag: 'sig', size: 2000 + i * 3000 }), {
        envelope: { mailFrom: null, rcptTo: [] },
        source: { kind: 'replay', source: 'replay', positionKey: `sig:${i}` },
      });
      ids.push(r.row.id);
    }
    await app.pipeline.idle({ retries: false });
    // all delivered: the receiver only answers 2xx when the signature verified
    expect(ids.map((id) => app!.store.get(id)?.status)).toEqual(ids.map(() => 'delivered'));
    expect(got).toHaveLength(10);
    for (const g of got) {
      expect(verify(SECRET, g.headers, g.body)).toBe(true);
      const tampered = Buffer.from(g.body);
      const mid = Math.floor(tampered.length / 2);
      tampered[mid] = tampered[mid]! ^ 0x01;
      expect(verify(SECRET, g.headers, tampered)).toBe(false);
      expect(verify(SECRET, g.headers, Buffer.concat([g.body, Buffer.from(' ')]))).toBe(false);
      const ts = Number(g.headers['x-mailintake-timestamp']);
      expect(verify(SECRET, { ...g.headers, 'x-mailintake-timestamp': String(ts + 1) }, g.body)).toBe(false);
      expect(verify('wrong-secret', g.headers, g.body)).toBe(false);
      expect(verify(SECRET, { ...g.headers, 'x-mailintake-signature': undefined }, g.body)).toBe(false);
      // the timestamp is fresh (a receiver can reject replays outside a window)
      expect(Math.abs(Date.now() / 1000 - ts)).toBeLessThan(120);
      expect(g.headers['idempotency-key']).toMatch(/^[0-9a-f]+:all\/hook$/);
    }
  }, 60_000);

  it('a receiver that rejects the signature (401) makes the message dead with the reason, not delivered', async () => {
    const bad = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401).end('bad signature'));
    });
    await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(bad.address() as AddressInfo).port}/hook`;
    const a = testApp(tempDir('mi-sec-hook2-'), {
      pipeline: { maxAttempts: 3 },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url, secret: 'not-what-the-receiver-has', timeout: '5s' } } },
    });
    try {
      a.pipeline.start();
      const r = await a.intake.receive(genMessage(99, { tag: 'sig' }), {
        envelope: { mailFrom: null, rcptTo: [] },
        source: { kind: 'replay', source: 'replay', positionKey: 'sig:bad' },
      });
      await a.pipeline.idle({ retries: false });
      const row = a.store.get(r.row.id);
      expect(row?.status).toBe('dead');
      expect(row?.reason).toMatch(/401/);
    } finally {
      await a.close();
      bad.close();
    }
  }, 30_000);
});
