/**
 * Connections for export/restore, built with the sources' own option builders (TLS, private CA,
 * OAuth2). IMAP: a fresh, single-use ImapFlow per call, error listener attached before connect(),
 * no IDLE. POP3: the in-repo client (export never sends DELE).
 */
import { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { ImapConfig, Pop3Config } from '../config/schema.js';
import { createOAuth2Provider, staticTokenProvider } from '../sources/auth/oauth2.js';
import { clientOptions, credentialSource, trustedCas } from '../sources/imap/options.js';
import { Pop3Client, type Pop3Auth, type Pop3ClientOptions } from '../sources/pop3/client.js';

/** Connects a new ImapFlow. The returned `failed` promise rejects when the connection errors later. */
export async function connectImap(cfg: ImapConfig, log: Logger): Promise<ImapFlow> {
  const creds = await credentialSource(cfg).get(false);
  const opts = clientOptions(cfg, creds, log, undefined, false);
  // Export fetches whole mailboxes: big messages are streamed with download(), never one literal.
  const client = new ImapFlow({
    ...opts,
    maxLiteralSize: Math.max(opts.maxLiteralSize ?? 0, 64 * 1024 * 1024),
  });
  client.on('error', (err: Error) => log.warn({ action: 'imap-error', err: err.message }));
  await client.connect();
  return client;
}

export async function closeImap(client: ImapFlow): Promise<void> {
  if (!client.usable) {
    client.close();
    return;
  }
  await client.logout().catch(() => client.close());
}

/** POP3 client options from the source config. */
export async function pop3Options(cfg: Pop3Config): Promise<Pop3ClientOptions> {
  let auth: Pop3Auth;
  if (cfg.oauth2 || cfg.accessToken || cfg.auth === 'xoauth2') {
    const tokens = cfg.oauth2 ? createOAuth2Provider(cfg.oauth2) : staticTokenProvider(cfg.accessToken ?? '');
    auth = { user: cfg.user, accessToken: await tokens.getToken() };
  } else {
    auth = { user: cfg.user, password: cfg.password ?? '', ...(cfg.auth === 'apop' ? { method: 'apop' as const } : {}) }; // prettier-ignore
  }
  const opts: Pop3ClientOptions = {
    host: cfg.host,
    port: cfg.port,
    tls: cfg.secure ? 'implicit' : cfg.starttls ? 'starttls' : 'none',
    auth,
    rejectUnauthorized: cfg.tls.rejectUnauthorized,
    timeoutMs: cfg.commandTimeout,
    maxMessageBytes: Math.max(cfg.maxMessageSize, 64 * 1024 * 1024),
  };
  const ca = trustedCas(cfg.tls.caFile);
  if (ca) opts.ca = ca;
  if (cfg.tls.servername) opts.servername = cfg.tls.servername;
  return opts;
}

export async function connectPop3(cfg: Pop3Config): Promise<Pop3Client> {
  return Pop3Client.connect(await pop3Options(cfg));
}
