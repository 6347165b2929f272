// A fault-injecting TCP proxy for tests: sits between a client and a real server and can cut every
// live connection, refuse new ones, stall traffic (held, then flushed on 'pass') or trickle it.
import { connect, createServer, type Socket } from 'node:net';

/** Proxy behaviour. `drop`: new connections are reset at once (live ones keep going; see cutAll). */
export type ProxyMode = 'pass' | 'drop' | 'stall' | 'slow';

/** Options for `slow`: forward `chunkSize` bytes every `delayMs` ms (defaults 1 byte / 5 ms). */
export interface ProxyModeOptions {
  chunkSize?: number;
  delayMs?: number;
}

/** Handle on a running proxy. */
export interface Proxy {
  port: number;
  /** Destroys every live connection (both sides), like a network cut. */
  cutAll(): void;
  setMode(mode: ProxyMode, opts?: ProxyModeOptions): void;
  /** Number of live client connections. */
  connections(): number;
  /** Number of client connections accepted since start. */
  accepted(): number;
  close(): Promise<void>;
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  held: Array<{ to: Socket; data: Buffer }>;
}

/** Starts a proxy on 127.0.0.1 (random port) forwarding to targetHost:targetPort. */
export async function startProxy(opts: { targetHost: string; targetPort: number }): Promise<Proxy> {
  let mode: ProxyMode = 'pass';
  let slow: Required<ProxyModeOptions> = { chunkSize: 1, delayMs: 5 };
  let accepted = 0;
  const pipes = new Set<Pipe>();

  const forward = (pipe: Pipe, to: Socket, data: Buffer): void => {
    if (mode === 'stall') {
      pipe.held.push({ to, data });
    } else if (mode === 'slow' || pendingTrickles.has(to)) {
      // Data behind a still-trickling chunk must not overtake it, even after switching to 'pass'.
      trickle(to, data, mode === 'slow' ? slow : { chunkSize: data.length, delayMs: 0 });
    } else if (!to.destroyed) {
      to.write(data);
    }
  };

  const server = createServer((client) => {
    accepted++;
    if (mode === 'drop') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: opts.targetHost, port: opts.targetPort });
    const pipe: Pipe = { client, upstream, held: [] };
    pipes.add(pipe);
    const end = (): void => {
      pipes.delete(pipe);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => forward(pipe, upstream, d));
    upstream.on('data', (d: Buffer) => forward(pipe, client, d));
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

  return {
    port,
    cutAll() {
      for (const p of [...pipes]) {
        p.client.resetAndDestroy();
        p.upstream.destroy();
        pipes.delete(p);
      }
    },
    setMode(next, modeOpts = {}) {
      mode = next;
      slow = { chunkSize: modeOpts.chunkSize ?? 1, delayMs: modeOpts.delayMs ?? 5 };
      if (next === 'pass') {
        for (const p of pipes) {
          for (const h of p.held.splice(0)) if (!h.to.destroyed) h.to.write(h.data);
        }
      }
    },
    connections: () => pipes.size,
    accepted: () => accepted,
    async close() {
      for (const p of [...pipes]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pipes.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const chains = new WeakMap<Socket, Promise<void>>();
const pendingTrickles = new Map<Socket, number>();

/** Forwards data in small timed pieces, keeping order with earlier trickled data to the same socket. */
function trickle(to: Socket, data: Buffer, o: Required<ProxyModeOptions>): void {
  const send = async (): Promise<void> => {
    for (let off = 0; off < data.length && !to.destroyed; off += o.chunkSize) {
      to.write(data.subarray(off, off + o.chunkSize));
      await new Promise((resolve) => setTimeout(resolve, o.delayMs));
    }
  };
  pendingTrickles.set(to, (pendingTrickles.get(to) ?? 0) + 1);
  const done = (): void => {
    const left = (pendingTrickles.get(to) ?? 1) - 1;
    if (left > 0) pendingTrickles.set(to, left);
    else pendingTrickles.delete(to);
  };
  chains.set(to, (chains.get(to) ?? Promise.resolve()).then(send).finally(done));
}
