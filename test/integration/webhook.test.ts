/**
 * Webhook against a real HTTP receiver: 500 for a while then 200 (nothing lost, nothing counted
 * delivered before the 2xx), a 4xx goes dead with the reason, signatures verify.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody } from '../../src/handlers/webhook.js';
import { genMessage } from '../helpers/gen.js';
import { waitFor } from '../harness/wait.js';
import { tempDir, testApp } from '../helpers/app.js';

interface Receiver {
  url: string;
  server: Server;
  bodies: Array<{
    json: { idempotencyKey: string; raw?: string; sha256: string; subject: string };
    headers: IncomingMessage['headers'];
    body: string;
  }>;
  status: () => number;
}

function receiver(status: () => number): Promise<Receiver> {
  const r: Partial<Receiver> = { bodies: [], status };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = r.status!();
      const body = Buffer.concat(chunks).toString('utf8');
      if (code >= 200 && code < 300)
        r.bodies!.push({
          json: JSON.parse(body) as Receiver['bodies'][number]['json'],
          headers: req.headers,
          body,
        });
      res.writeHead(code).end(code >= 400 ? 'nope' : 'ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      r.server = server;
      r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      resolve(r as Receiver);
    }),
  );
}

let app: App | null = null;
let rcv: Receiver | null = null;
afterEach(async () => {
  await app?.close();
  rcv?.server.close();
  app = null;
});

describe('webhook handler', () => {
  it('retries 500s until a 2xx; delivered only after the 2xx; signed; raw bytes intact', async () => {
    let failing = true;
    let served500 = 0;
    rcv = await receiver(() => {
      if (failing) {
        served500++;
        return 500;
      }
      return 200;
    });
    const dir = tempDir();
    app = testApp(dir, {
      pipeline: { backoffBase: 50, backoffMax: 400, maxAttempts: 50 },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url: rcv.url, secret: 'topsecret', timeout: '5s' } } },
    });
    app.pipeline.start();
    const raws = Array.from({ length: 20 }, (_, i) => genMessage(i, { size: 3000 }));
    const ids: number[] = [];
    for (const [i, raw] of raws.entries()) {
      ids.push(
        (
          await app.intake.receive(raw, {
            envelope: { mailFrom: null, rcptTo: [] },
            source: { kind: 'replay', source: 'replay', positionKey: `w:${i}` },
          })
        ).row.id,
      );
    }
    // while the receiver fails (every message refused at least twice), nothing may be delivered
    await waitFor(() => served500 >= 40, { timeoutMs: 30_000, what: '40 refused POSTs' });
    expect(ids.map((id) => app!.store.get(id)!.status).filter((s) => s === 'delivered')).toEqual([]);
    expect(ids.every((id) => app!.store.get(id)!.status !== 'dead')).toBe(true);
    failing = false;
    await app.pipeline.idle({ retries: true });
    expect(ids.every((id) => app!.store.get(id)!.status === 'delivered')).toBe(true);
    expect(rcv.bodies.length).toBe(20);
    const got = new Set(
      rcv.bodies.map((b) => createHash('sha256').update(Buffer.from(b.json.raw!, 'base64')).digest('hex')),
    );
    expect(got).toEqual(new Set(raws.map((r) => createHash('sha256').update(r).digest('hex'))));
    for (const b of rcv.bodies) {
      const ts = String(b.headers[TIMESTAMP_HEADER]);
      expect(b.headers[SIGNATURE_HEADER]).toBe(signBody('topsecret', ts, b.body));
      expect(b.headers['idempotency-key']).toBe(b.json.idempotencyKey);
      expect(signBody('wrong', ts, b.body)).not.toBe(b.headers[SIGNATURE_HEADER]);
    }
  });

  it('sends a 4xx to dead with the reason; 429 and 408 are retried', async () => {
    const codes = [429, 408, 422];
    rcv = await receiver(() => codes.shift() ?? 200);
    app = testApp(tempDir(), {
      pipeline: { backoffBase: 10, backoffMax: 50 },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url: rcv.url } } },
    });
    app.pipeline.start();
    const r = await app.intake.receive(genMessage(1), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 'w:4xx' },
    });
    await app.pipeline.idle({ retries: true });
    const row = app.store.get(r.row.id)!;
    expect(row.status).toBe('dead');
    expect(row.attempts).toBe(3);
    expect(row.reason).toMatch(/HTTP 422 nope/);
    expect(rcv.bodies.length).toBe(0);
  });

  it('counts a refused connection as temporary', async () => {
    app = testApp(tempDir(), {
      pipeline: { backoffBase: 10, backoffMax: 20, maxAttempts: 2 },
      routes: [{ name: 'all', handlers: ['hook'] }],
      handlers: { hook: { webhook: { url: 'http://127.0.0.1:1/hook' } } },
    });
    app.pipeline.start();
    const r = await app.intake.receive(genMessage(2), {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'replay', source: 'replay', positionKey: 'w:down' },
    });
    await app.pipeline.idle({ retries: true });
    expect(app.store.get(r.row.id)).toMatchObject({ status: 'dead', attempts: 2 });
    expect(app.store.get(r.row.id)?.reason).toMatch(/gave up after 2 attempts: webhook hook/);
  });
});
