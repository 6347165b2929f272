/** The HTTP endpoint: /healthz (JSON, 200 or 503) and /metrics (Prometheus text). Loopback by default. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';
import type { SourceVerdict } from './health.js';

export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

export async function startHttp(
  listen: string,
  deps: { metrics: Metrics; health: () => SourceVerdict[]; log: Logger },
): Promise<HttpEndpoint> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '/healthz') {
      const sources = deps.health();
      const ok = sources.every((s) => s.healthy);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      return void res.end(`${JSON.stringify({ status: ok ? 'ok' : 'unhealthy', sources })}\n`);
    }
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          deps.log.error({ err }, 'metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  deps.log.info(
    { action: 'http-listening', host, port: (server.address() as AddressInfo).port },
    'health and metrics endpoint ready',
  );
  return {
    port: (server.address() as AddressInfo).port,
    // Scrapers keep connections alive; without closing them server.close() would wait for their
    // keep-alive timeout and eat into the shutdown deadline.
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
