/** A user's own ESM module exporting `handle(message, ctx)`; its throws follow the usual mapping. */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PermanentError } from '../core/errors.js';
import type { Handler, UserHandleFn } from './types.js';

export function createModuleHandler(name: string, opts: { path: string; baseDir: string }): Handler {
  let loaded: Promise<UserHandleFn> | null = null;
  const load = async (): Promise<UserHandleFn> => {
    const mod = (await import(pathToFileURL(resolve(opts.baseDir, opts.path)).href)) as {
      handle?: unknown;
      default?: { handle?: unknown } | unknown;
    };
    const fn =
      typeof mod.handle === 'function'
        ? mod.handle
        : typeof mod.default === 'function'
          ? mod.default
          : (mod.default as { handle?: unknown } | undefined)?.handle;
    if (typeof fn !== 'function') {
      throw new PermanentError(`module ${opts.path} does not export handle(message, ctx)`, 'MODULE_EXPORT');
    }
    return fn as UserHandleFn;
  };
  return {
    name,
    async handle(msg, call) {
      loaded ??= load();
      const fn = await loaded.catch((err: unknown) => {
        loaded = null;
        throw err;
      });
      await fn(msg, call);
    },
  };
}
