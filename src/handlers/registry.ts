/** Config kind → handler factory. Adding a handler kind touches its own file and one line here. */
import type { HandlerConfig } from '../config/schema.js';
import { createCommandHandler } from './command.js';
import { createFileHandler, createMaildirHandler } from './maildir.js';
import { createModuleHandler } from './module.js';
import type { Handler } from './types.js';
import { createWebhookHandler } from './webhook.js';

export function createHandler(name: string, cfg: HandlerConfig, baseDir: string): Handler {
  if (cfg.webhook) {
    const w = cfg.webhook;
    return createWebhookHandler(name, {
      url: w.url,
      secret: w.secret,
      timeoutMs: w.timeout,
      rawInlineMax: w.rawInlineMax,
      headers: w.headers,
    });
  }
  if (cfg.command) {
    const c = cfg.command;
    return createCommandHandler(name, {
      argv: c.argv,
      input: c.input,
      timeoutMs: c.timeout,
      cwd: c.cwd,
      env: c.env,
    });
  }
  if (cfg.maildir) return createMaildirHandler(name, cfg.maildir);
  if (cfg.file) return createFileHandler(name, cfg.file);
  if (cfg.module) return createModuleHandler(name, { path: cfg.module.path, baseDir });
  throw new Error(`handler ${name}: no kind`);
}

export function createHandlers(cfgs: Record<string, HandlerConfig>, baseDir: string): Map<string, Handler> {
  return new Map(Object.entries(cfgs).map(([name, cfg]) => [name, createHandler(name, cfg, baseDir)]));
}
