/**
 * One message file write, synchronous: hash and Message-ID, then temp file, write, mtime, optional
 * fdatasync, close, rename. No directory fsync here (batched by the sink).
 */
import * as crypto from 'node:crypto';
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

/** crypto.hash (Node >= 20.12): one-shot, no Hash object per message. */
const oneShotHash = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;
const CRLF_BLANK = Buffer.from('\r\n\r\n');

/**
 * `contentKeyOf(raw)`, cheaper: the SHA-256 in one shot, and the header looked up in the prefix
 * ending with the first CRLF blank line. headerEnd() takes the earliest of three blank-line forms
 * and scans the whole message for each; none can end the header after that first CRLF CRLF, so the
 * prefix yields the same header (and saves two full scans per message).
 */
export function messageKey(raw: Buffer): WriteResult {
  const digest = oneShotHash ? oneShotHash('sha256', raw, 'hex') : sha256(raw);
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
