/**
 * Message file writes: hash and Message-ID, then temp file, write, mtime, optional fdatasync,
 * close, rename. No directory fsync here (batched by the sink). `runWriteJob` does it on the
 * calling thread; `WriterThread` on a worker thread, which also appends the manifest line (after
 * the rename, as the sink does). The worker runs from source text (`eval`), so the same code runs
 * from dist/ and from the TypeScript sources under vitest: `writerMain` may only use what it
 * `require`s itself.
 */
import {
  closeSync,
  fdatasyncSync,
  futimesSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { contentKeyOf, sha256 } from '../core/message.js';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { TMP_PREFIX } from './files.js';

export interface WriteJob {
  path: string;
  data: Uint8Array;
  /** ms since epoch, or null to leave the mtime alone. */
  mtimeMs: number | null;
  fsync: boolean;
}

export interface WriteResult {
  sha256: string;
  messageId: string | null;
}

const made = new Set<string>();
let seq = 0;

const CRLF_BLANK = Buffer.from('\r\n\r\n');

/**
 * `contentKeyOf(raw)`, cheaper: the SHA-256 in one shot, and the header looked up in the prefix
 * ending with the first CRLF blank line. headerEnd() takes the earliest of three blank-line forms
 * and scans the whole message for each; none can end the header after that first CRLF CRLF, so the
 * prefix yields the same header (and saves two full scans per message).
 */
/** contentKeyOf(raw).messageId without hashing. */
export function messageIdOf(raw: Buffer): string | null {
  const blank = raw.indexOf(CRLF_BLANK);
  return contentKeyOf(blank >= 0 ? raw.subarray(0, blank + CRLF_BLANK.length) : raw, '').messageId;
}

export function messageKey(raw: Buffer): WriteResult {
  const digest = sha256(raw);
  const blank = raw.indexOf(CRLF_BLANK);
  const key = contentKeyOf(blank >= 0 ? raw.subarray(0, blank + CRLF_BLANK.length) : raw, digest);
  return { sha256: key.sha256, messageId: key.messageId };
}

export function runWriteJob(job: WriteJob): WriteResult {
  const buf = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
  const key = messageKey(buf);
  const dir = dirname(job.path);
  if (!made.has(dir)) {
    mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  const tmp = join(dir, `${TMP_PREFIX}${process.pid}-${process.hrtime.bigint()}-${seq++}`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    if (job.mtimeMs !== null) futimesSync(fd, job.mtimeMs / 1000, job.mtimeMs / 1000);
    if (job.fsync) fdatasyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, job.path);
  return { sha256: key.sha256, messageId: key.messageId };
}

/** A message for the writer thread: the bytes, where they go, and their manifest line minus the hash. */
export interface ThreadJob extends WriteJob {
  /** Manifest record with `sha256: ''`; the thread fills it in and appends the line. */
  rec: Record<string, unknown>;
}

interface ThreadReply {
  /** The next `ok` jobs (in posting order) have their file in place and manifest line appended. */
  ok: number;
  /** Then `skipped` jobs were not written (the first failed, with `error`). */
  skipped: number;
  error?: { message: string; code?: string };
}

/* The writer thread's code: only its own `require`d modules (it runs from source text). */
function writerMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  const crypto = require('node:crypto') as typeof import('node:crypto');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { manifest, tmpPrefix } = workerData as { manifest: string; tmpPrefix: string };
  const mfd = fs.openSync(manifest, 'a', 0o640);
  const made = new Set<string>();
  let seq = 0;
  let failed = false;
  const one = (j: ThreadJob): void => {
    const buf = Buffer.from(j.data.buffer, j.data.byteOffset, j.data.byteLength);
    j.rec.sha256 = crypto.createHash('sha256').update(buf).digest('hex');
    const slash = j.path.lastIndexOf('/');
    const dir = slash > 0 ? j.path.slice(0, slash) : '.';
    if (!made.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const tmp = `${dir}/${tmpPrefix}${process.pid}-t${Date.now().toString(36)}-${seq++}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      if (j.mtimeMs !== null) fs.futimesSync(fd, j.mtimeMs / 1000, j.mtimeMs / 1000);
      if (j.fsync) fs.fdatasyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, j.path);
    const line = Buffer.from(`${JSON.stringify(j.rec)}\n`, 'utf8');
    let off = 0;
    while (off < line.length) off += fs.writeSync(mfd, line, off, line.length - off);
  };
  // Replies are batched: one per turn of the thread's event loop (all the jobs that were queued),
  // carrying how many jobs were written and the bytes back (a transferred buffer is freed by its
  // owner's GC, and this thread allocates too little to collect often).
  let reply: ThreadReply = { ok: 0, skipped: 0 };
  let buffers: ArrayBuffer[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    parentPort!.postMessage(reply, buffers);
    reply = { ok: 0, skipped: 0 };
    buffers = [];
  };
  parentPort!.on('message', (j: ThreadJob) => {
    if (failed) reply.skipped++;
    else {
      try {
        one(j);
        reply.ok++;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        failed = true;
        reply.skipped++;
        reply.error = { message: e.message, ...(e.code ? { code: e.code } : {}) };
      }
    }
    buffers.push(j.data.buffer as ArrayBuffer);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}

/**
 * Hashes and writes message files, and appends their manifest lines, on one worker thread, in
 * posting order. `post()` is fire-and-forget (the bytes are transferred, not copied, when the
 * Buffer owns its memory); `onDone(ok)` reports each job in order (ok: written and recorded),
 * `onError` the first failure; jobs after a failure are skipped (not written, no line). If the
 * thread dies, onError is called and `onDone(false)` for every job still pending.
 */
export class WriterThread {
  private readonly worker: Worker;
  private pending = 0;
  private closing = false;

  constructor(
    manifest: string,
    tmpPrefix: string,
    onDone: (ok: boolean) => void,
    onError: (err: Error) => void,
  ) {
    this.worker = new Worker(`(${writerMain.toString()})()`, {
      eval: true,
      workerData: { manifest, tmpPrefix },
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    // Starting an isolate makes V8 clamp the process-wide --semi-space-growth-factor to at least 2,
    // undoing the export command's keepYoungGenerationSmall() (factor 1): the main young
    // generation then grew to 2 x 16 MB and peak RSS from 125 to 150 MB. Set it back once the
    // thread's isolate exists.
    this.worker.once('online', () => setFlagsFromString('--semi-space-growth-factor=1'));
    this.worker.on('message', (r: ThreadReply) => {
      if (r.error) onError(Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {})); // prettier-ignore
      this.pending -= r.ok + r.skipped;
      if (this.pending === 0) this.worker.unref();
      for (let i = 0; i < r.ok; i++) onDone(true);
      for (let i = 0; i < r.skipped; i++) onDone(false);
    });
    this.worker.on('error', onError);
    this.worker.on('exit', (code) => {
      if (this.pending === 0 && this.closing) return;
      onError(new Error(`export writer thread exited (${code})`));
      for (; this.pending > 0; this.pending--) onDone(false);
    });
    this.worker.unref();
  }

  post(job: ThreadJob): void {
    const raw = job.data;
    const owns = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength && raw.buffer instanceof ArrayBuffer; // prettier-ignore
    const data = owns ? raw : new Uint8Array(raw);
    if (this.pending++ === 0) this.worker.ref();
    this.worker.postMessage({ ...job, data }, [data.buffer as ArrayBuffer]);
  }

  /** Stops the thread (call once nothing is pending). */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
