/** Source kind → factory, loaded from the source's own folder (`src/sources/<kind>/index.ts`). */
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
