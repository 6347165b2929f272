/** Source kind → factory, loaded from the source's own folder (`src/sources/<kind>/index.ts`). */
import { resolve } from 'node:path';
import type { SourceConfig } from '../config/schema.js';
import type { Source, SourceContext, SourceFactory } from './types.js';

export function sourceKind(cfg: SourceConfig): 'imap' | 'pop3' {
  return cfg.imap ? 'imap' : 'pop3';
}

export async function createSource(ctx: SourceContext): Promise<Source> {
  const kind = sourceKind(ctx.config);
  const mod = (await import(`./${kind}/index.js`)) as { createSource: SourceFactory };
  return mod.createSource(ctx);
}

/**
 * The source's config with `tls.caFile` made absolute against the config file's directory, like
 * every other path in the config. For commands that hand a source's settings to a client outside
 * the source itself (export, restore).
 */
export function withConfigPaths(cfg: SourceConfig, baseDir: string): SourceConfig {
  const fix = <T extends { tls: { caFile?: string | undefined } }>(c: T): T =>
    c.tls.caFile === undefined ? c : { ...c, tls: { ...c.tls, caFile: resolve(baseDir, c.tls.caFile) } };
  return {
    ...cfg,
    ...(cfg.imap ? { imap: fix(cfg.imap) } : {}),
    ...(cfg.pop3 ? { pop3: fix(cfg.pop3) } : {}),
  };
}
