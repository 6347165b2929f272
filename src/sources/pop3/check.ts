/** `mailintake check` for POP3: connect, CAPA, log in, STAT on a throwaway session, then QUIT. */
import type { Logger } from 'pino';
import type { Pop3Config } from '../../config/schema.js';
import type { CheckReport } from '../types.js';
import { Credentials } from './options.js';
import { openSession } from './login.js';

export async function checkPop3(cfg: Pop3Config, baseDir: string, log: Logger): Promise<CheckReport> {
  try {
    const { client, capabilities, method } = await openSession(cfg, baseDir, new Credentials(cfg), log);
    try {
      const stat = await client.stat();
      const caps = [...capabilities.entries()].map(([k, v]) => (v.length ? `${k} ${v.join(' ')}` : k));
      const details: Record<string, string | number | boolean> = {
        secure: client.secure,
        auth: method,
        messages: stat.count,
        octets: stat.size,
        uidl: capabilities.size === 0 || capabilities.has('UIDL'),
        pipelining: capabilities.has('PIPELINING'),
      };
      await client.quit();
      return { ok: true, capabilities: caps.sort(), details };
    } finally {
      client.destroy();
    }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
