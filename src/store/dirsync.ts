/**
 * Group fsync of directories: concurrent writers that created or renamed an entry in the same
 * directory share one fsync, started on the next turn of the event loop after their change.
 */
import { open } from 'node:fs/promises';

const pending = new Map<string, Promise<void>>();

export function syncDir(dir: string): Promise<void> {
  const p0 = pending.get(dir);
  if (p0) return p0;
  const p = (async () => {
    await new Promise<void>((r) => setImmediate(r));
    pending.delete(dir);
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  })();
  pending.set(dir, p);
  return p;
}
