/**
 * Atomic file writes: write to a temp name with O_DSYNC (the write returns once the data is on
 * stable storage), rename into place, fsync the directory. The temp file's descriptor is closed in
 * the background (the rename does not need it closed).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir } from '../store/dirsync.js';
import { closeFd, CREATE_DSYNC, openFd, writeAllFd } from '../store/fd.js';

const made = new Set<string>();

export async function writeFileAtomic(path: string, data: Buffer | string, tmpDir?: string): Promise<void> {
  const dir = dirname(path);
  const tdir = tmpDir ?? dir;
  for (const d of tdir === dir ? [dir] : [tdir, dir]) {
    if (made.has(d)) continue;
    await mkdir(d, { recursive: true });
    made.add(d);
  }
  const tmp = join(tdir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
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
