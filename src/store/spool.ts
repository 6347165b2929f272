/**
 * The spool: raw message bytes on disk, one file per message, its data fdatasynced and its
 * directory fsynced before the message counts as received. Bytes are written exactly as given;
 * nothing decodes them. Directory fsyncs of concurrent writers are batched (group commit).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, type Readable } from 'node:stream';
import { SizeLimitError } from '../core/errors.js';
import { syncDir } from './dirsync.js';
import { closeFd, closeSyncFd, fdatasyncFd, openFd, writeAllFdSync } from './fd.js';

export interface SpooledFile {
  path: string;
  size: number;
  /** SHA-256 of the source's bytes (excluding any prefix we added, e.g. a Received: header). */
  sha256: string;
  /** The first bytes of the source message (for header scans without rereading the file). */
  head: Buffer;
  /** Resolves when the file content and its directory entry are on stable storage. */
  durable: Promise<void>;
}

const WRITE_BATCH = 256 * 1024;

/** Sees each chunk of a streamed message; `finish` may refuse the message once all was read. */
export interface ChunkInspector {
  update(chunk: Buffer): void;
  finish(): Error | null;
}

export interface StreamOptions {
  maxBytes: number;
  /** Written before the source's bytes (e.g. our Received: header); not part of the hash. */
  prefix?: Buffer;
  inspect?: ChunkInspector;
}

/** Random per process: with a counter, names are unique without 8 random bytes per message (the
 * files are created O_EXCL, so a collision could only fail a write, never overwrite one). */
const PROCESS_TAG = randomBytes(6).toString('hex');
/** Shared by every Spool of the process (two may write to one directory). */
let seq = 0;

const HEAD_BYTES = 64 * 1024;

/** At most this many bytes of recently written messages stay in memory, each at most CACHE_ONE_MAX. */
const CACHE_MAX = 16 * 1024 * 1024;
const CACHE_ONE_MAX = 1024 * 1024;

export class Spool {
  private readonly made = new Set<string>();
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private async target(): Promise<{ dir: string; path: string }> {
    const day = new Date().toISOString().slice(0, 10);
    const dir = join(this.dir, day);
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    const name = `${Date.now().toString(36)}-${PROCESS_TAG}-${(seq++).toString(36)}.eml`;
    return { dir, path: join(dir, name) };
  }

  /**
   * Writes a Buffer. Resolves once the bytes are written (into the page cache); `durable` resolves
   * once they and the directory entry are on stable storage. Callers acknowledge nothing before
   * `durable`; the ledger commit runs in parallel with both syncs (see Intake).
   */
  async write(raw: Buffer, prefix?: Buffer): Promise<SpooledFile> {
    const { dir, path } = await this.target();
    const parts = prefix?.length ? [prefix, raw] : [raw];
    const fd = await openFd(path, 'wx', 0o640); // create-exclusive; synced once, at the end
    try {
      writeAllFdSync(fd, parts);
    } catch (err) {
      closeSyncFd(fd);
      await rm(path, { force: true });
      throw err;
    }
    this.remember(path, parts);
    return {
      path,
      size: raw.length + (prefix?.length ?? 0),
      sha256: createHash('sha256').update(raw).digest('hex'),
      head: raw.subarray(0, HEAD_BYTES),
      durable: syncAndClose(fd, syncDir(dir)),
    };
  }

  /** Streams into the spool, hashing on the way; rejects with SizeLimitError past `maxBytes`
   * (the stream is then drained so a protocol peer can still be answered). Chunks are written in
   * batches of up to 256 KiB. `inspect` sees every chunk and may refuse the message at its end
   * (after the whole stream was read). Read with 'data' events: an async iterator costs a promise
   * per chunk, which shows at thousands of messages a second. */
  async writeStream(stream: Readable, opts: StreamOptions): Promise<SpooledFile> {
    const { dir, path } = await this.target();
    const fd = await openFd(path, 'wx', 0o640); // create-exclusive; synced once, at the end
    // The directory entry exists now: its fsync can run while the bytes arrive (off the ack path).
    const dirSynced = syncDir(dir);
    const hash = createHash('sha256');
    const headParts: Buffer[] = [];
    let headLen = 0;
    let size = 0;
    let oversize = false;
    let batch: Buffer[] = opts.prefix?.length ? [opts.prefix] : [];
    let batchLen = 0;
    let all: Buffer[] | null = [...batch];
    try {
      await new Promise<void>((resolve, reject) => {
        let failed: unknown = null;
        const onData = (chunk: Buffer): void => {
          if (failed) return; // draining after a write error
          size += chunk.length;
          if (size > opts.maxBytes) {
            oversize = true;
            batch = [];
            return; // keep draining, store nothing more
          }
          opts.inspect?.update(chunk);
          hash.update(chunk);
          if (headLen < HEAD_BYTES) {
            headParts.push(chunk);
            headLen += chunk.length;
          }
          batch.push(chunk);
          batchLen += chunk.length;
          if (all && size <= CACHE_ONE_MAX) all.push(chunk);
          else all = null;
          if (batchLen >= WRITE_BATCH) {
            try {
              writeAllFdSync(fd, batch);
            } catch (err) {
              failed = err; // answered once the client's data is read, like the size limit
            }
            batch = [];
            batchLen = 0;
          }
        };
        stream.on('data', onData);
        // finished() also settles for a stream that ended, failed or was destroyed before these
        // listeners were attached (the client gone while the file was being opened).
        const cleanup = finished(stream, { writable: false }, (err) => {
          cleanup();
          stream.off('data', onData);
          if (err) reject(err);
          else if (failed) reject(failed as Error);
          else resolve();
        });
      });
      if (oversize) throw new SizeLimitError(opts.maxBytes);
      const refused = opts.inspect?.finish() ?? null;
      if (refused) throw refused;
      if (batch.length) writeAllFdSync(fd, batch);
    } catch (err) {
      closeSyncFd(fd);
      await rm(path, { force: true });
      dirSynced.catch(() => undefined);
      throw err;
    }
    if (all) this.remember(path, all);
    return {
      path,
      size: size + (opts.prefix?.length ?? 0),
      sha256: hash.digest('hex'),
      head:
        headParts.length === 1
          ? headParts[0]!.subarray(0, HEAD_BYTES)
          : Buffer.concat(headParts).subarray(0, HEAD_BYTES),
      durable: syncAndClose(fd, dirSynced),
    };
  }

  /** Reads a spooled message: from the recent-write cache when it is there (and then forgets it),
   * else from disk. `cached` says which, so a caller can skip re-verifying bytes it just wrote. */
  async readChecked(path: string): Promise<{ raw: Buffer; cached: boolean }> {
    const hit = this.cache.get(path);
    if (hit) {
      this.cache.delete(path);
      this.cacheBytes -= hit.length;
      return { raw: hit, cached: true };
    }
    return { raw: await readFile(path), cached: false };
  }

  read(path: string): Promise<Buffer> {
    return this.readChecked(path).then((r) => r.raw);
  }

  /** Recently written messages are kept (bounded) so the pipeline does not read them back. */
  private remember(path: string, parts: Buffer[]): void {
    const size = parts.reduce((n, b) => n + b.length, 0);
    if (size > CACHE_ONE_MAX) return;
    const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    this.cache.set(path, buf);
    this.cacheBytes += size;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= CACHE_MAX) break;
      this.cache.delete(k);
      this.cacheBytes -= v.length;
    }
  }
}

/**
 * One fdatasync of the file's data (on libuv's pool), in parallel with its directory's group fsync;
 * the descriptor is closed after. Resolves when both are done: the file is then durable.
 */
function syncAndClose(fd: number, dirSynced: Promise<void>): Promise<void> {
  const dataSynced = fdatasyncFd(fd).finally(() => closeFd(fd).catch(() => undefined));
  return Promise.all([dataSynced, dirSynced]).then(() => undefined);
}
