/** Test helpers: a temp directory, a validated config, an in-process app with a silent logger. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { createApp, type App } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import type { Handler } from '../../src/handlers/types.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const CORPUS = resolve(REPO, '../shared/corpus');

export function tempDir(prefix = 'mi-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(dir: string, extra: Record<string, unknown> = {}) {
  return validateConfig({
    store: { sqlite: join(dir, 'db.sqlite'), spool: join(dir, 'spool'), attachments: join(dir, 'att') },
    log: { level: 'silent' },
    routes: [{ name: 'all', handlers: ['out'] }],
    handlers: { out: { maildir: { path: join(dir, 'out') } } },
    ...extra,
  });
}

export function testApp(
  dir: string,
  extra: Record<string, unknown> = {},
  handlers?: Map<string, Handler>,
): App {
  const cfg = testConfig(dir, extra);
  return createApp(cfg, dir, pino({ level: 'silent' }), handlers ? { handlers } : {});
}
