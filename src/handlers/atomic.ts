/** Atomic file writes: write to a temp name in the same directory, fsync, rename, fsync the directory. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir } from '../store/dirsync.js';
import { closeFd, openFd, syncFd, writeAllFd } from '../store/fd.js';

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
  const fd = await openFd(tmp, 'w', 0o640);
  try {
    await writeAllFd(fd, [typeof data === 'string' ? Buffer.from(data) : data]);
    await syncFd(fd);
  } catch (err) {
    await closeFd(fd).catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await closeFd(fd);
  await rename(tmp, path);
  await syncDir(dir);
}
