/**
 * Opening one POP3 session for the source: connect (implicit TLS or STLS, verified), CAPA, then
 * log in with the method {@link chooseAuth} picks. A server without CAPA is tolerated (RFC 1939
 * servers answer -ERR); pipelining is used only when CAPA advertises it. A refused login tells the
 * credentials so an OAuth2 token is refreshed next time.
 */
import type { Logger } from 'pino';
import type { Pop3Config } from '../../config/schema.js';
import { Pop3Client, Pop3Error, type Pop3Capabilities } from './client.js';
import { chooseAuth, connectOptions, type AuthMethod, type Credentials } from './options.js';

export interface OpenSession {
  client: Pop3Client;
  capabilities: Pop3Capabilities;
  method: AuthMethod;
}

export async function openSession(
  cfg: Pop3Config,
  baseDir: string,
  creds: Credentials,
  log: Logger,
  pipelining = true,
): Promise<OpenSession> {
  const client = await Pop3Client.connect({ ...connectOptions(cfg, baseDir, pipelining), logger: log });
  try {
    let capabilities: Pop3Capabilities = new Map();
    try {
      capabilities = await client.capa();
    } catch (err) {
      if (!(err instanceof Pop3Error) || err.code !== 'ERR') throw err;
    }
    const method = chooseAuth(cfg, client.greeting, capabilities.size ? capabilities : undefined);
    try {
      await client.authenticate(await creds.forMethod(method));
    } catch (err) {
      if (err instanceof Pop3Error && err.code === 'AUTH') creds.onAuthFailure();
      throw err;
    }
    // Some servers (RFC 2449 §6.0) list more capabilities after login, e.g. PIPELINING.
    if (capabilities.size && !capabilities.has('PIPELINING')) {
      capabilities = await client.capa().catch(() => capabilities);
    }
    return { client, capabilities, method };
  } catch (err) {
    client.destroy();
    throw err;
  }
}
