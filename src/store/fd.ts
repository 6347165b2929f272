/**
 * Minimal fd-based file I/O for the hot write paths (spool, atomic handler writes). The callback
 * API avoids allocating and finalising a FileHandle per message.
 */
import { close, constants, open, writev } from 'node:fs';
import { promisify } from 'node:util';

export const openFd = promisify(open) as (
  path: string,
  flags: string | number,
  mode: number,
) => Promise<number>;

/**
 * Create-exclusive, write-only, O_DSYNC: every write returns only once its data (and the metadata
 * needed to read it back, such as the file size) is on stable storage, like a write followed by
 * fdatasync, in one call instead of two.
 */
export const CREATE_DSYNC = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC;
export const closeFd = promisify(close);
const writevP = promisify(writev);

/** Writes every buffer, continuing after short writes. */
export async function writeAllFd(fd: number, bufs: Buffer[]): Promise<void> {
  const pending = bufs.filter((b) => b.length);
  while (pending.length) {
    let n = (await writevP(fd, pending)).bytesWritten;
    while (n > 0 && pending.length) {
      const first = pending[0]!;
      if (n >= first.length) {
        n -= first.length;
        pending.shift();
      } else {
        pending[0] = first.subarray(n);
        n = 0;
      }
    }
  }
}
