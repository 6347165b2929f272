/**
 * Maildir and file handlers. Names derive from the idempotency key, so a retry after a crash
 * rewrites the same file (rename is atomic) instead of delivering a second copy.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../core/message.js';
import { buildPayload } from '../core/payload.js';
import { writeFileAtomic } from './atomic.js';
import type { Handler } from './types.js';

function stableName(idempotencyKey: string): string {
  return sha256(idempotencyKey).slice(0, 24);
}

const HOST = hostname().replace(/[/:]/g, '_');

/** Standard Maildir delivery (tmp/ → new/). */
export function createMaildirHandler(name: string, opts: { path: string; hardlink?: boolean }): Handler {
  return {
    name,
    needsBody: false,
    needsHeaders: false,
    async handle(msg, call) {
      const unique = `${Math.floor(msg.receivedAt.getTime() / 1000)}.M${stableName(call.idempotencyKey)}.${HOST},S=${msg.raw.length}`;
      await writeFileAtomic(join(opts.path, 'new', unique), msg.raw, join(opts.path, 'tmp'), {
        linkFrom: opts.hardlink === false ? null : msg.spoolPath,
      });
    },
  };
}

/** `<dir>/<name>.eml` plus a `<name>.json` sidecar with the parsed payload (without raw). */
export function createFileHandler(name: string, opts: { path: string; hardlink?: boolean }): Handler {
  return {
    name,
    async handle(msg, call) {
      const base = join(
        opts.path,
        `${msg.receivedAt.toISOString().slice(0, 10)}-${stableName(call.idempotencyKey)}`,
      );
      await writeFileAtomic(`${base}.eml`, msg.raw, undefined, {
        linkFrom: opts.hardlink === false ? null : msg.spoolPath,
      });
      const payload = buildPayload(msg, call.match, call.idempotencyKey, { includeRaw: false });
      await writeFileAtomic(`${base}.json`, `${JSON.stringify(payload)}\n`);
    },
  };
}
