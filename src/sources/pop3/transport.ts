// Socket setup for the POP3 client: plain TCP, implicit TLS (995) and the STLS upgrade of a live
// socket. Certificates are verified unless the caller explicitly sets rejectUnauthorized: false.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Pop3Error, classifySocketError } from './errors.js';

/** TLS settings shared by implicit TLS and STLS. */
export interface Pop3TlsOptions {
  /** CA certificate(s) in PEM, e.g. `readFileSync(caFile)`; default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** SNI / identity name; defaults to the host unless it is an IP address. */
  servername?: string;
}

function tlsOptions(host: string, o: Pop3TlsOptions): ConnectionOptions {
  const opts: ConnectionOptions = { host, rejectUnauthorized: o.rejectUnauthorized ?? true };
  const servername = o.servername ?? (isIP(host) ? undefined : host);
  if (servername !== undefined) opts.servername = servername;
  if (o.ca !== undefined) opts.ca = o.ca;
  return opts;
}

function settle<T extends Socket>(sock: T, event: string, timeoutMs: number, command: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Pop3Error('TIMEOUT', `${command} timed out after ${timeoutMs} ms`, true, { command }));
    }, timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(classifySocketError(err, command));
    };
    sock.once('error', onError);
    sock.once(event, () => {
      clearTimeout(timer);
      sock.removeListener('error', onError);
      resolve(sock);
    });
  });
}

/** Opens a TCP or implicit-TLS connection; rejects with a typed error within `timeoutMs`. */
export async function openSocket(
  host: string,
  port: number,
  implicitTls: boolean,
  tls: Pop3TlsOptions,
  timeoutMs: number,
): Promise<Socket> {
  if (implicitTls) {
    const sock = tlsConnect({ ...tlsOptions(host, tls), port });
    return settle(sock, 'secureConnect', timeoutMs, 'CONNECT');
  }
  const sock = netConnect({ host, port });
  return settle(sock, 'connect', timeoutMs, 'CONNECT');
}

/** Wraps a connected socket in TLS (after STLS +OK). */
export async function upgradeSocket(
  socket: Socket,
  host: string,
  tls: Pop3TlsOptions,
  timeoutMs: number,
): Promise<TLSSocket> {
  const sock = tlsConnect({ ...tlsOptions(host, tls), socket });
  return settle(sock, 'secureConnect', timeoutMs, 'STLS');
}
