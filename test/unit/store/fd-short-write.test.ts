/** The fd writers continue after short writes (writev returning fewer bytes than asked), on both the
 * synchronous and the libuv paths, and stop with an error instead of looping when a write makes no
 * progress. A local disk never writes short, so writev is replaced by one that writes at most a few
 * bytes per call (through the real writev). */
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../helpers/app.js';

const limit = vi.hoisted(() => ({ bytes: 3, calls: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  /** The first `limit.bytes` bytes of `bufs`, as views. */
  const head = (bufs: readonly NodeJS.ArrayBufferView[]): Buffer[] => {
    const out: Buffer[] = [];
    let left = limit.bytes;
    for (const b of bufs) {
      if (left <= 0) break;
      const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      out.push(buf.subarray(0, left));
      left -= Math.min(left, buf.length);
    }
    return out;
  };
  const writevSync = (fd: number, bufs: readonly NodeJS.ArrayBufferView[]): number => {
    limit.calls++;
    const part = head(bufs);
    return part.length ? fs.writevSync(fd, part) : 0;
  };
  const writev = (
    fd: number,
    bufs: readonly NodeJS.ArrayBufferView[],
    cb: (err: NodeJS.ErrnoException | null, n: number, b: readonly NodeJS.ArrayBufferView[]) => void,
  ): void => {
    limit.calls++;
    const part = head(bufs);
    if (!part.length) return void setImmediate(() => cb(null, 0, bufs));
    fs.writev(fd, part, (err, n) => cb(err, n, bufs));
  };
  Object.defineProperty(writev, promisify.custom, {
    value: (fd: number, bufs: readonly NodeJS.ArrayBufferView[]) =>
      new Promise((resolve, reject) =>
        writev(fd, bufs, (err, bytesWritten, buffers) =>
          err ? reject(err) : resolve({ bytesWritten, buffers }),
        ),
      ),
  });
  return { ...fs, default: { ...fs, writev, writevSync }, writev, writevSync };
});

const { closeSyncFd, openFd, writeAllFd, writeAllFdSync } = await import('../../../src/store/fd.js');

const parts = () => [
  Buffer.from('Received: x\r\n'),
  Buffer.alloc(0),
  Buffer.from('Subject: \u00e9\r\n\r\nbody\r\n', 'latin1'),
];

describe('fd writers after short writes', () => {
  beforeEach(() => {
    limit.bytes = 3;
    limit.calls = 0;
  });

  it('writeAllFdSync writes every byte, in order, over many short writes', async () => {
    const path = join(tempDir(), 'sync.eml');
    const fd = await openFd(path, 'wx', 0o600);
    writeAllFdSync(fd, parts());
    closeSyncFd(fd);
    expect(readFileSync(path).equals(Buffer.concat(parts()))).toBe(true);
    expect(limit.calls).toBe(Math.ceil(Buffer.concat(parts()).length / 3));
  });

  it('writeAllFd (libuv) writes every byte, in order, over many short writes', async () => {
    const path = join(tempDir(), 'async.eml');
    const fd = await openFd(path, 'wx', 0o600);
    await writeAllFd(fd, parts());
    closeSyncFd(fd);
    expect(readFileSync(path).equals(Buffer.concat(parts()))).toBe(true);
    expect(limit.calls).toBe(Math.ceil(Buffer.concat(parts()).length / 3));
  });

  it('a write that makes no progress is an error, not an endless loop', async () => {
    limit.bytes = 0;
    const fd = await openFd(join(tempDir(), 'stuck.eml'), 'wx', 0o600);
    expect(() => writeAllFdSync(fd, parts())).toThrow(/no progress/);
    await expect(writeAllFd(fd, parts())).rejects.toThrow(/no progress/);
    closeSyncFd(fd);
    expect(limit.calls).toBe(2);
  });
});
