/**
 * The spool: raw message bytes on disk, one file per message, fsynced (file and directory)
 * before the message counts as received. Bytes are written exactly as given; nothing decodes them.
 * Directory fsyncs of concurrent writers are batched (group commit).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SizeLimitError } from '../core/errors.js';

export interface SpooledFile {
  path: string;
  size: number;
  /** SHA-256 of the source's bytes (excluding any prefix we added, e.g. a Received: header). */
  sha256: string;
  /** The first bytes of the source message (for header scans without rereading the file). */
  head: Buffer;
}

const HEAD_BYTES = 64 * 1024;

export class Spool {
  private readonly pendingDirSync = new Map<string, Promise<void>>();
  private readonly made = new Set<string>();

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
    const name = `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}.eml`;
    return { dir, path: join(dir, name) };
  }

  /** Writes a Buffer durably. */
  async write(raw: Buffer, prefix?: Buffer): Promise<SpooledFile> {
    const { dir, path } = await this.target();
    const fh = await open(path, 'wx', 0o640);
    try {
      if (prefix?.length) await fh.write(prefix);
      await writeAll(fh, raw);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.syncDir(dir);
    return {
      path,
      size: raw.length + (prefix?.length ?? 0),
      sha256: createHash('sha256').update(raw).digest('hex'),
      head: raw.subarray(0, HEAD_BYTES),
    };
  }

  /** Streams into the spool, hashing on the way; rejects with SizeLimitError past `maxBytes`
   * (the stream is then drained so a protocol peer can still be answered). */
  async writeStream(stream: Readable, opts: { maxBytes: number; prefix?: Buffer }): Promise<SpooledFile> {
    const { dir, path } = await this.target();
    const fh = await open(path, 'wx', 0o640);
    // The directory entry exists now: its fsync can run while the bytes arrive (off the ack path).
    const dirSynced = this.syncDir(dir);
    dirSynced.catch(() => undefined);
    const hash = createHash('sha256');
    const headParts: Buffer[] = [];
    let headLen = 0;
    let size = 0;
    let oversize = false;
    try {
      if (opts.prefix?.length) await fh.write(opts.prefix);
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > opts.maxBytes) {
          oversize = true;
          continue; // keep draining, store nothing more
        }
        hash.update(chunk);
        if (headLen < HEAD_BYTES) {
          headParts.push(chunk);
          headLen += chunk.length;
        }
        await writeAll(fh, chunk);
      }
      if (oversize) throw new SizeLimitError(opts.maxBytes);
      await fh.sync();
    } catch (err) {
      await fh.close().catch(() => undefined);
      await rm(path, { force: true });
      throw err;
    }
    await fh.close();
    await dirSynced;
    return {
      path,
      size: size + (opts.prefix?.length ?? 0),
      sha256: hash.digest('hex'),
      head: Buffer.concat(headParts).subarray(0, HEAD_BYTES),
    };
  }

  read(path: string): Promise<Buffer> {
    return readFile(path);
  }

  /** fsync a directory; concurrent callers for the same directory share one fsync that starts
   * after their rename/create happened (the next flush), which is the group commit. */
  private syncDir(dir: string): Promise<void> {
    const pending = this.pendingDirSync.get(dir);
    if (pending) return pending;
    const p = (async () => {
      await new Promise<void>((r) => setImmediate(r));
      this.pendingDirSync.delete(dir);
      const fh = await open(dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    })();
    this.pendingDirSync.set(dir, p);
    return p;
  }
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}
