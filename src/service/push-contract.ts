/** What the push (SMTP) listener module `src/sources/smtp/index.ts` exports. */
import type { Logger } from 'pino';
import type { PushConfig } from '../config/schema.js';
import type { Intake } from '../core/intake.js';
import type { SourceHealth } from '../sources/types.js';

export interface PushListenerOptions {
  config: PushConfig;
  intake: Intake;
  log: Logger;
  /** Recipient patterns of the configured routes (`to`), accepted in addition to push.domains. */
  routeRecipients: string[];
  baseDir: string;
}

export interface PushListener {
  /** Bound address (port 0 in tests resolves to the real port). */
  address(): { host: string; port: number };
  /** Stop accepting (new sessions get 421), let sessions in flight finish within graceMs, then close. */
  close(graceMs: number): Promise<void>;
  health(): SourceHealth;
}

export type StartPushListener = (opts: PushListenerOptions) => Promise<PushListener>;
