/** Shared CLI plumbing: exit codes, config loading with readable errors. */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import { createLogger } from '../log.js';

/** Exit codes (documented in README and `mailintake --help`). */
export const EXIT = {
  OK: 0,
  /** Ran, but some messages ended dead/failed or a source failed (run --once, replay). */
  FAILURES: 1,
  USAGE: 2,
  CONFIG: 3,
  /** A source could not be reached or logged into (check, run --once). */
  UNAVAILABLE: 4,
  /** Internal error. */
  SOFTWARE: 70,
} as const;

export class UsageError extends Error {}

export const DEFAULT_CONFIG = 'config/mailintake.yaml';
export const FALLBACK_CONFIG = 'config/example.yaml';

/** `--config` wins; else config/mailintake.yaml; else the documented example (so Quick start works). */
export function resolveConfigPath(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.MAILINTAKE_CONFIG) return process.env.MAILINTAKE_CONFIG;
  return existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : FALLBACK_CONFIG;
}

export function load(flag: string | undefined): { loaded: LoadedConfig; log: Logger } {
  const loaded = loadConfig(resolveConfigPath(flag));
  const log = createLogger({ level: loaded.config.log.level });
  return { loaded, log };
}

export function printConfigError(err: ConfigError): void {
  const all = (err as ConfigError & { all?: string[] }).all;
  process.stderr.write(`mailintake: invalid configuration\n`);
  for (const line of all ?? [err.message]) process.stderr.write(`  ${line}\n`);
}
