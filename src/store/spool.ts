/**
 * The spool: raw message bytes on disk, one file per message, its data fdatasynced and its
 * directory entry on stable storage before the message counts as received. Bytes are written
 * exactly as given; nothing decodes them.
 *
 * Files are made ahead of time (`FilePool`): a few empty files per day directory, created and open,
 * their directory entries fsynced in one go. A message is written into one at once, so neither the
 * file's creation nor a directory fsync lies between the sender's data and its 250; only the file's
 * own fdatasync does. Unused files are removed by `close()`; a crash leaves at most a pool's worth of
 * empty files in the day's directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { finished, type Readable } from 'node:stream';
import { SizeLimitError } from '../core/errors.js';
import { syncDir } from './dirsync.js';
import { closeSyncFd, fdatasyncFd, openFd, writeAllFdSync } from './fd.js';

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

/** A spool file made ahead of time: empty, open for writing, its directory entry durable. */
interface Slot {
  path: string;
  fd: number;
}

/** Files made per refill (at least); a refill starts when this many or fewer are left. */
const POOL_BATCH = 16;
const POOL_LOW = 8;

/**
 * Empty spool files of one directory, made ahead of time. A refill creates a batch (enough for the
 * writers waiting, if any, plus the low mark), fsyncs the directory once, then serves the writers
 * waiting first. While nobody waits, files are created one at a time, so that libuv's pool (four
 * threads) stays free for the fsyncs acknowledgements wait for; four at a time while writers wait
 * (a burst of pulled mail).
 */
class FilePool {
  private ready: Slot[] = [];
  private readonly waiting: Array<{ resolve: (s: Slot) => void; reject: (e: Error) => void }> = [];
  /** The refill running now (settles, never rejects). */
  private refilling: Promise<void> | null = null;
  private dropped = false;

  constructor(
    readonly dir: string,
    private readonly name: () => string,
  ) {}

  /** A file at once when one is ready (the usual case), else once a refill made some. */
  take(): Slot | Promise<Slot> {
    const slot = this.ready.shift();
    if (this.ready.length <= POOL_LOW) this.refill();
    if (slot) return slot;
    return new Promise<Slot>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.refill();
    });
  }

  private refill(): void {
    if (this.refilling) return;
    if (this.dropped) {
      // Dropped (closed, a new day, its directory removed): no more files are made here.
      for (const w of this.waiting.splice(0)) w.reject(new Error(`spool pool for ${this.dir} was closed`));
      return;
    }
    this.refilling = this.makeBatch().then(
      (made) => {
        this.refilling = null;
        while (this.waiting.length && made.length) this.waiting.shift()!.resolve(made.shift()!);
        if (this.dropped) discard(made);
        else this.ready.push(...made);
        if (this.waiting.length || this.ready.length <= POOL_LOW) this.refill();
      },
      (err: unknown) => {
        // Every writer waiting is told (a 4xx for SMTP); the next take() tries again.
        this.refilling = null;
        for (const w of this.waiting.splice(0)) w.reject(err as Error);
      },
    );
  }

  private async makeBatch(): Promise<Slot[]> {
    const want = Math.max(POOL_BATCH, this.waiting.length + POOL_LOW);
    const made: Slot[] = [];
    let failure: unknown = null;
    let started = 0;
    const creator = async (): Promise<void> => {
      while (started < want && failure === null) {
        started++;
        const path = join(this.dir, this.name());
        try {
          made.push({ path, fd: await openFd(path, 'wx', 0o640) });
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: this.waiting.length ? 4 : 1 }, creator));
    if (made.length) {
      try {
        await syncDir(this.dir);
      } catch (err) {
        discard(made);
        throw err;
      }
      return made;
    }
    throw failure as Error;
  }

  /** Closes and removes the files not handed out, including those of a refill running now. */
  async drain(): Promise<void> {
    this.dropped = true;
    discard(this.ready.splice(0));
    await this.refilling;
  }
}

function discard(slots: Slot[]): void {
  for (const s of slots) {
    try {
      closeSyncFd(s.fd);
      unlinkSync(s.path);
    } catch {
      // gone already; an empty file left behind is harmless
    }
  }
}

export class Spool {
  private readonly pools = new Map<string, FilePool>();
  private readonly cache = new Map<string, Buffer>();
  private cacheBytes = 0;

  /** `now` decides the day directory (tests change the day). */
  constructor(
    readonly dir: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** A file for the next message, in today's directory (synchronously when the pool has one). */
  private slot(): Slot | Promise<Slot> {
    const dir = join(this.dir, this.now().toISOString().slice(0, 10));
    const pool = this.pools.get(dir);
    if (pool) {
      const got = pool.take();
      if (!(got instanceof Promise)) return got;
      return got.catch((err: unknown) => {
        // The directory was removed under us: made again by the next message.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.dropPool(dir);
        throw err;
      });
    }
    return (async () => {
      await mkdir(dir, { recursive: true });
      let p = this.pools.get(dir);
      if (!p) {
        // A new day: the files left in earlier days' pools are removed.
        for (const old of this.pools.values()) void old.drain();
        this.pools.clear();
        p = new FilePool(dir, () => `${Date.now().toString(36)}-${PROCESS_TAG}-${(seq++).toString(36)}.eml`);
        this.pools.set(dir, p);
      }
      return p.take();
    })();
  }

  private dropPool(dir: string): void {
    void this.pools.get(dir)?.drain();
    this.pools.delete(dir);
  }

  /**
   * A file made ahead of time may have been removed since (its day directory deleted by hand): the
   * bytes would then go to a file without a name, and the message could not be read back. Refused
   * instead (the sender is told to retry) and the pool is dropped: the next message makes the
   * directory and new files. One fstat of an open descriptor (a few µs).
   */
  private stillLinked(fd: number, path: string): void {
    if (fstatSync(fd).nlink > 0) return;
    this.dropPool(dirname(path));
    throw new Error(`spool file ${path} was removed before the message was written`);
  }

  /** Removes the files made ahead of time and not used. Writes after this make new ones. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.drain()));
  }

  /**
   * Writes a Buffer. Resolves once the bytes are written (into the page cache); `durable` resolves
   * once they and the directory entry are on stable storage. Callers acknowledge nothing before
   * `durable`; the ledger commit runs in parallel with both syncs (see Intake).
   */
  async write(raw: Buffer, prefix?: Buffer): Promise<SpooledFile> {
    const got = this.slot();
    const { path, fd } = got instanceof Promise ? await got : got;
    const parts = prefix?.length ? [prefix, raw] : [raw];
    try {
      writeAllFdSync(fd, parts);
      this.stillLinked(fd, path);
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
      durable: syncAndClose(fd),
    };
  }

  /** Streams into the spool, hashing on the way; rejects with SizeLimitError past `maxBytes`
   * (the stream is then drained so a protocol peer can still be answered). Chunks are written in
   * batches of up to 256 KiB. `inspect` sees every chunk and may refuse the message at its end
   * (after the whole stream was read). Read with 'data' events: an async iterator costs a promise
   * per chunk, which shows at thousands of messages a second. */
  async writeStream(stream: Readable, opts: StreamOptions): Promise<SpooledFile> {
    const got = this.slot();
    const { path, fd } = got instanceof Promise ? await got : got;
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
      this.stillLinked(fd, path);
    } catch (err) {
      closeSyncFd(fd);
      await rm(path, { force: true });
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
      durable: syncAndClose(fd),
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
 * One fdatasync of the file's data and size (on libuv's pool); the descriptor is closed after, on
 * the event loop (a close with nothing left to flush takes microseconds; a second trip to the pool
 * would delay the acknowledgement by tens). The directory entry was made durable before the file
 * was handed out (`FilePool`), so the file is durable when this resolves.
 */
function syncAndClose(fd: number): Promise<void> {
  const close = (): void => {
    try {
      closeSyncFd(fd);
    } catch {
      // EBADF cannot happen (the descriptor is ours); EIO on close is reported by the fdatasync
    }
  };
  return fdatasyncFd(fd).then(close, (err: unknown) => {
    close();
    throw err;
  });
}
