/** `mailintake check` for IMAP: log in on a throwaway connection, list capabilities and folders. */
import { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { ImapConfig } from '../../config/schema.js';
import type { CheckReport } from '../types.js';
import { clientOptions, credentialSource } from './options.js';
import { errorText, withTimeout } from './supervisor.js';

const KEY_CAPS = ['IDLE', 'MOVE', 'UIDPLUS', 'CONDSTORE', 'QRESYNC', 'SPECIAL-USE'] as const;

export async function checkImap(cfg: ImapConfig, log: Logger): Promise<CheckReport> {
  let client: ImapFlow | null = null;
  try {
    const creds = await credentialSource(cfg).get(false);
    client = new ImapFlow(clientOptions(cfg, creds, log, undefined, false));
    client.on('error', () => undefined);
    await withTimeout(client.connect(), 60_000);
    const capabilities = [...client.capabilities.keys()].sort();
    const folders = (await client.list()).map((f) => f.path);
    const missing = cfg.mailboxes.filter((m) => !folders.some((f) => f.toUpperCase() === m.toUpperCase()));
    const details: Record<string, string | number | boolean> = {
      secure: client.secureConnection,
      auth: cfg.oauth2 || cfg.accessToken ? 'oauth2' : 'password',
    };
    for (const c of KEY_CAPS) details[c] = client.capabilities.has(c);
    if (missing.length) details.missingMailboxes = missing.join(', ');
    await withTimeout(client.logout(), 5_000).catch(() => undefined);
    const report: CheckReport = { ok: missing.length === 0, capabilities, folders, details };
    if (missing.length) report.error = `configured mailboxes not found: ${missing.join(', ')}`;
    return report;
  } catch (err) {
    return { ok: false, error: errorText(err) };
  } finally {
    client?.close();
  }
}
