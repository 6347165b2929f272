/**
 * Atomic file writes: hard-link `linkFrom` under the final name (when given and possible), or write
 * to a temp name with O_DSYNC (the write returns once the data is on stable storage) and rename into
 * place; then fsync the directory. The temp file's descriptor is closed in the background (the
 * rename does not need it closed).
 */
import { randomBytes } from 'node:crypto';
import { linkSync } from 'node:fs';
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
  if (opts.linkFrom && (await linked(opts.linkFrom, path))) {
    await syncDir(dir);
    return;
  }
  const tmp = join(tdir, `.tmp-${PROCESS_TAG}-${(seq++).toString(36)}`);
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
 * Hard links are made on the event loop: link(2) takes 10-20 µs on a local disk, less than handing
 * it to libuv's pool costs the event loop on a 2-vCPU machine (about 50 µs, most of it the wake-up
 * of a pool thread), measured per Maildir delivery. Once a link takes longer than `slowMs` (a slow
 * or network filesystem), the process makes them on the pool from then on. Exported for tests.
 */
export const linkTiming = { sync: true, slowMs: 2 };

/**
 * A hard link to a file that is already durable and never modified (a spool file) instead of a
 * copy, made directly under its final name: link(2) is atomic and the source is complete, so no
 * temp name and rename are needed. The name exists already only when an earlier attempt for the
 * same message made it (names derive from the idempotency key): that is this delivery, done.
 * False when the link cannot be made (another filesystem, no hard links, file gone): the caller
 * then writes the bytes.
 */
async function linked(from: string, to: string): Promise<boolean> {
  try {
    if (linkTiming.sync) {
      const t0 = performance.now();
      linkSync(from, to);
      if (performance.now() - t0 > linkTiming.slowMs) linkTiming.sync = false;
    } else await link(from, to);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EEXIST';
  }
}
