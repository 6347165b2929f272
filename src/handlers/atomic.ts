/**
 * Atomic file writes: hard-link `linkFrom` (when given and possible) or write to a temp name with O_DSYNC (the write returns once the data is on
 * stable storage), rename into place, fsync the directory. The temp file's descriptor is closed in
 * the background (the rename does not need it closed).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir } from '../store/dirsync.js';
import { closeFd, CREATE_DSYNC, openFd, writeAllFd } from '../store/fd.js';

const made = new Set<string>();
/** Temp names: a random tag per process and a counter (see spool.ts). */
const PROCESS_TAG = `${process.pid}-${randomBytes(4).toString('hex')}`;
let seq = 0;

export async function writeFileAtomic(
  path: string,
  data: Buffer | string,
  tmpDir?: string,
  opts: { linkFrom?: string | null } = {},
): Promise<void> {
  const dir = dirname(path);
  const tdir = tmpDir ?? dir;
  for (const d of tdir === dir ? [dir] : [tdir, dir]) {
    if (made.has(d)) continue;
    await mkdir(d, { recursive: true });
    made.add(d);
  }
  const tmp = join(tdir, `.tmp-${PROCESS_TAG}-${(seq++).toString(36)}`);
  if (opts.linkFrom && (await linked(opts.linkFrom, tmp))) {
    await rename(tmp, path);
    await syncDir(dir);
    return;
  }
  const fd = await openFd(tmp, CREATE_DSYNC, 0o640);
  try {
    await writeAllFd(fd, [typeof data === 'string' ? Buffer.from(data) : data]);
  } catch (err) {
    await closeFd(fd).catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  closeFd(fd).catch(() => undefined);
  await rename(tmp, path);
  await syncDir(dir);
}

/**
 * A hard link to a file that is already durable and never modified (a spool file) instead of a
 * copy. False when the link cannot be made (another filesystem, no hard links, file gone): the
 * caller then writes the bytes.
 */
async function linked(from: string, tmp: string): Promise<boolean> {
  try {
    await link(from, tmp);
    return true;
  } catch {
    return false;
  }
}
