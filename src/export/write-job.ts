/**
 * One message file write, synchronous: hash and Message-ID, then temp file, write, mtime, optional
 * fdatasync, close, rename. No directory fsync here (batched by the sink).
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
import { contentKeyOf } from '../core/message.js';
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

export function runWriteJob(job: WriteJob): WriteResult {
  const buf = Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength);
  const key = contentKeyOf(buf);
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
