/**
 * Writes fetched messages into the export with bounded concurrency. Per message: hash, then either
 * re-map (same content already exported under an old UIDVALIDITY: only a manifest line) or write the
 * bytes atomically (maildir/eml: temp + rename, mtime = internal date; mbox: append an mboxrd entry
 * at a known offset) and only then append the manifest line.
 *
 * maildir/eml messages (unless they may be re-mapped) go to a writer thread (write-job.ts) that
 * hashes, writes and appends the manifest line; the event loop only parses IMAP and posts the
 * bytes. Creating a file costs 80-250 us of kernel time on the bench's ext4 (inode allocation scans
 * recently deleted inodes, new handles wait for journal commits): on the event loop this took
 * 1.8-2.9 s of a 5-9 s export of 10,000 messages, during which nothing was read from the server.
 *
 * Durability ('batch', the default): every `checkpointMs` (or 2,000 files) everything written so far
 * is made durable together: one syncfs(2) of the output filesystem (files, directory entries,
 * manifest), or where syncfs is unavailable an fdatasync per file written since the last checkpoint
 * and an fsync per touched directory; then the mbox files and the manifest are fdatasynced. The
 * last checkpoint runs in close(), so a run that returns has everything on disk. A manifest line is
 * only appended after its file is complete, so a kill at any point leaves at worst files without a
 * line (deleted by reconcile) and, after a power loss between checkpoints, lines whose bytes are
 * missing or wrong (dropped by reconcile's re-hash, as the run was not marked clean).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { mboxEntry } from '../core/mbox.js';
import { ensureDir, syncDirs, syncFiles, syncFilesystems, TMP_PREFIX } from './files.js';
import { messageIdOf, messageKey, runWriteJob, WriterThread } from './write-job.js';
import { messageFile } from './layout.js';
import { contentKey, type ExportFormat, type ManifestWriter, type MessageRecord } from './manifest.js';
import type { Progress } from './progress.js';

export type FsyncMode = 'batch' | 'each' | 'none';

/** One message as fetched from a server. */
export interface IncomingMessage {
  folder: string;
  /** Safe relative folder path (safe-path.ts). */
  folderPath: string;
  uidValidity: string | null;
  uid: number | null;
  uidl?: string;
  flags: string[];
  internalDate: Date | null;
  raw: Buffer;
  /** Records of this folder under an older UIDVALIDITY, by content key; a match is re-mapped. */
  remap?: Map<string, MessageRecord[]>;
}

export interface SinkOptions {
  out: string;
  format: ExportFormat;
  manifest: ManifestWriter;
  log: Logger;
  progress?: Progress;
  /**
   * Message file durability: 'batch' (default) fdatasyncs the files written since the last
   * checkpoint together, in parallel, at the checkpoint; 'each' before every rename; 'none' never.
   */
  fsync?: FsyncMode;
  concurrency?: number;
  checkpointMs?: number;
  /** maildir/eml: hash and write on a worker thread (default true); false: on the event loop. */
  writerThread?: boolean;
  /** Current length of each mbox file (after reconcile), by relative path. */
  mboxSizes?: Map<string, number>;
}

export interface SinkStats {
  written: number;
  remapped: number;
  bytes: number;
}

export class Sink {
  readonly stats: SinkStats = { written: 0, remapped: 0, bytes: 0 };
  /** Per folder: records added (not re-mapped) and the highest UID recorded under `uidValidity`. */
  readonly folders = new Map<string, { added: number; lastUid: number; uidValidity: string | null }>();
  private inflight = 0;
  private waiters: Array<() => void> = [];
  private error: unknown = null;
  private touched = new Set<string>();
  private unsynced: string[] = [];
  private lastCheckpoint = Date.now();
  private checkpointing: Promise<void> | null = null;
  private readonly mboxSizes: Map<string, number>;
  private readonly mboxChains = new Map<string, Promise<void>>();
  private readonly mboxHandles = new Map<string, FileHandle>();
  private thread: WriterThread | null = null;
  /** Messages posted to the writer thread, oldest first (accounted when it reports them). */
  private readonly posted: Array<{ rec: MessageRecord; path: string }> = [];

  constructor(private readonly o: SinkOptions) {
    this.mboxSizes = o.mboxSizes ?? new Map();
  }

  /** Queues one message; resolves once there is room for another (backpressure for the fetch loop). */
  async add(m: IncomingMessage): Promise<void> {
    this.throwIfFailed();
    const limit = this.o.concurrency ?? 16;
    while (this.inflight >= limit) await new Promise<void>((r) => this.waiters.push(r));
    this.throwIfFailed();
    this.inflight++;
    if (this.o.format !== 'mbox' && !(m.remap && m.remap.size > 0) && this.o.writerThread !== false) {
      this.post(m);
    } else
      this.handle(m)
        .catch((err: unknown) => {
          this.error ??= err;
        })
        .finally(() => {
          this.inflight--;
          this.waiters.shift()?.();
        });
    const due =
      Date.now() - this.lastCheckpoint >= (this.o.checkpointMs ?? 1000) || this.unsynced.length >= 2000;
    if (due && !this.checkpointing) {
      this.lastCheckpoint = Date.now();
      this.checkpointing = this.checkpoint()
        .catch((err: unknown) => {
          this.error ??= err;
        })
        .finally(() => (this.checkpointing = null));
    }
  }

  /** Waits for every queued message; rethrows the first failure. */
  async drain(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => this.waiters.push(r));
    await Promise.all(this.mboxChains.values());
    if (this.checkpointing) await this.checkpointing;
    this.throwIfFailed();
  }

  /** Makes everything written so far durable: touched directories, mbox files, the manifest. */
  async checkpoint(): Promise<void> {
    const dirs = [...this.touched];
    const files = this.unsynced;
    this.touched.clear();
    this.unsynced = [];
    if (!(await syncFilesystems([this.o.out, ...dirs]))) {
      await syncFiles(files);
      await syncDirs(dirs);
    }
    for (const fh of this.mboxHandles.values()) await fh.datasync();
    await this.o.manifest.sync();
  }

  async close(): Promise<void> {
    try {
      await this.drain();
      await this.checkpoint();
    } finally {
      await this.thread?.close();
      this.thread = null;
      for (const fh of this.mboxHandles.values()) await fh.close().catch(() => undefined);
      this.mboxHandles.clear();
    }
  }

  private throwIfFailed(): void {
    if (this.error) throw this.error;
  }

  private async handle(m: IncomingMessage): Promise<void> {
    const size = m.raw.length;
    // Hash up front only when it decides something (re-map) or for mbox; else write-job hashes.
    const key: { messageId: string | null; sha256: string } | null =
      this.o.format === 'mbox' || (m.remap && m.remap.size > 0) ? messageKey(m.raw) : null;
    if (key && m.remap && m.remap.size > 0) {
      const old = m.remap.get(contentKey(key))?.shift();
      if (old) {
        const rec: MessageRecord = { ...this.base(m, key, size), file: old.file };
        if (old.offset !== undefined) rec.offset = old.offset;
        if (old.length !== undefined) rec.length = old.length;
        this.record(rec);
        this.stats.remapped++;
        this.o.progress?.tick(size);
        return;
      }
    }
    const target = messageFile(this.o.format, m.folderPath, m, { size, flags: m.flags, internalDate: m.internalDate }); // prettier-ignore
    let rec: MessageRecord;
    if (this.o.format === 'mbox' && key) {
      const entry = mboxEntry(m.raw, m.internalDate ? { date: m.internalDate } : {});
      const offset = await this.appendMbox(target.file, entry);
      rec = { ...this.base(m, key, size), file: target.file, offset, length: entry.length };
    } else {
      const path = join(this.o.out, target.file);
      const mode = this.o.fsync ?? 'batch';
      // On the event loop (re-map candidates, or writerThread: false). Synchronous on purpose:
      // measured faster than libuv's async fs round trips per call, and than temp files opened
      // ahead on the thread pool (the opens could not keep up, +1 s of system CPU).
      const w = runWriteJob({
        path,
        data: m.raw,
        mtimeMs: m.internalDate?.getTime() ?? null,
        fsync: mode === 'each',
      });
      this.touched.add(dirname(path));
      if (mode === 'batch') this.unsynced.push(path);
      rec = { ...this.base(m, w, size), file: target.file };
    }
    this.record(rec);
    this.folders.get(rec.folder)!.added++;
    this.stats.written++;
    this.stats.bytes += size;
    this.o.progress?.tick(size);
  }

  /**
   * Hands one maildir/eml message to the writer thread, which hashes it, writes the file and
   * appends the manifest line (file first, as in handle()). Nothing of the message stays on this
   * thread but a small record until the thread reports it: no promise or closure per message,
   * which keeps V8's young generation (and peak RSS) as small as with synchronous writes.
   */
  private post(m: IncomingMessage): void {
    const size = m.raw.length;
    const target = messageFile(this.o.format, m.folderPath, m, { size, flags: m.flags, internalDate: m.internalDate }); // prettier-ignore
    const path = join(this.o.out, target.file);
    const rec: MessageRecord = { ...this.base(m, { messageId: messageIdOf(m.raw), sha256: '' }, size), file: target.file }; // prettier-ignore
    this.thread ??= new WriterThread(
      this.o.manifest.path,
      TMP_PREFIX,
      (ok) => this.postedDone(ok),
      (err) => {
        this.error ??= err;
      },
    );
    this.posted.push({ rec, path });
    this.thread.post({ path, data: m.raw, mtimeMs: m.internalDate?.getTime() ?? null, fsync: (this.o.fsync ?? 'batch') === 'each', rec: rec as unknown as Record<string, unknown> }); // prettier-ignore
  }

  private postedDone(ok: boolean): void {
    const p = this.posted.shift();
    if (p && ok) {
      this.account(p.rec);
      this.folders.get(p.rec.folder)!.added++;
      this.stats.written++;
      this.stats.bytes += p.rec.size;
      this.o.progress?.tick(p.rec.size);
      this.touched.add(dirname(p.path));
      if ((this.o.fsync ?? 'batch') === 'batch') this.unsynced.push(p.path);
    }
    this.inflight--;
    this.waiters.shift()?.();
  }

  private base(
    m: IncomingMessage,
    key: { messageId: string | null; sha256: string },
    size: number,
  ): Omit<MessageRecord, 'file'> {
    // prettier-ignore
    return {
      t: 'msg',
      folder: m.folder,
      uidValidity: m.uidValidity,
      uid: m.uid,
      messageId: key.messageId,
      sha256: key.sha256,
      size,
      flags: m.flags,
      internalDate: m.internalDate ? m.internalDate.toISOString() : null,
      ...(m.uidl !== undefined ? { uidl: m.uidl } : {}),
    };
  }

  private record(rec: MessageRecord): void {
    this.o.manifest.append(rec);
    this.account(rec);
  }

  private account(rec: MessageRecord): void {
    const f = this.folders.get(rec.folder) ?? { added: 0, lastUid: 0, uidValidity: rec.uidValidity };
    if (f.uidValidity !== rec.uidValidity) Object.assign(f, { lastUid: 0, uidValidity: rec.uidValidity });
    f.lastUid = Math.max(f.lastUid, rec.uid ?? 0);
    this.folders.set(rec.folder, f);
  }

  /** Appends to one mbox file at a time (per-file chain); returns the entry's offset. */
  private appendMbox(file: string, entry: Buffer): Promise<number> {
    const prev = this.mboxChains.get(file) ?? Promise.resolve();
    const run = prev.then(async () => {
      let fh = this.mboxHandles.get(file);
      if (!fh) {
        const path = join(this.o.out, file);
        await ensureDir(dirname(path));
        fh = await open(path, 'a+');
        this.mboxHandles.set(file, fh);
        this.touched.add(dirname(path));
        if (!this.mboxSizes.has(file)) this.mboxSizes.set(file, (await fh.stat()).size);
      }
      const offset = this.mboxSizes.get(file) ?? 0;
      await fh.write(entry, 0, entry.length, offset);
      this.mboxSizes.set(file, offset + entry.length);
      return offset;
    });
    this.mboxChains.set(file, run.then(() => undefined, () => undefined)); // prettier-ignore
    return run;
  }
}
