/**
 * Minimal fd-based file I/O for the hot write paths (spool, atomic handler writes). The callback
 * API avoids allocating and finalising a FileHandle per message.
 */
import { close, fdatasync, fsync, open, writev } from 'node:fs';
import { promisify } from 'node:util';

export const openFd = promisify(open) as (path: string, flags: string, mode: number) => Promise<number>;
export const closeFd = promisify(close);
export const datasyncFd = promisify(fdatasync);
export const syncFd = promisify(fsync);
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
