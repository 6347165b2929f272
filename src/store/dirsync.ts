/**
 * Group fsync of directories: concurrent writers that created or renamed an entry in the same
 * directory share one fsync, started on the next turn of the event loop after their change. The
 * directory's descriptor stays open (a few hot directories: spool day, Maildir new/), so a sync is
 * one call on libuv's pool rather than open, fsync and close.
 */
import { close, fsync, open } from 'node:fs';
import { promisify } from 'node:util';

const openP = promisify(open);
const fsyncP = promisify(fsync);

const pending = new Map<string, Promise<void>>();
/** Open directory descriptors, least recently used first. */
const fds = new Map<string, Promise<number>>();
const MAX_OPEN = 32;

function dirFd(dir: string): Promise<number> {
  const hit = fds.get(dir);
  if (hit) {
    fds.delete(dir);
    fds.set(dir, hit);
    return hit;
  }
  const p = openP(dir, 'r');
  fds.set(dir, p);
  p.catch(() => fds.delete(dir));
  for (const [k, v] of fds) {
    if (fds.size <= MAX_OPEN) break;
    fds.delete(k);
    // Closed once any sync already holding it is done (a late close is harmless, a reuse is not).
    void v.then(
      (fd) => setTimeout(() => close(fd, () => undefined), 1000).unref(),
      () => undefined,
    );
  }
  return p;
}

export function syncDir(dir: string): Promise<void> {
  const p0 = pending.get(dir);
  if (p0) return p0;
  const p = (async () => {
    await new Promise<void>((r) => setImmediate(r));
    pending.delete(dir);
    const fd = await dirFd(dir);
    try {
      await fsyncP(fd);
    } catch (err) {
      // A descriptor gone bad (directory removed and recreated) is dropped; the caller sees the error.
      if (fds.get(dir) !== undefined) fds.delete(dir);
      throw err;
    }
  })();
  pending.set(dir, p);
  return p;
}
