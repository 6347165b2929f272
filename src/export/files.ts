/**
 * File helpers for the export. Message files are written by write-job.ts (temp + rename); unlike
 * handlers/atomic.ts the directory is NOT fsynced per file: the sink fsyncs every touched directory
 * once per checkpoint (batch), and reconcile repairs whatever a power loss between checkpoints
 * undoes (manifest lines whose file is missing are dropped and fetched again).
 */
import { mkdir, open } from 'node:fs/promises';

export const TMP_PREFIX = '.tmp-export-';

const made = new Set<string>();

/** mkdir -p, remembered per process. */
export async function ensureDir(dir: string): Promise<void> {
  if (made.has(dir)) return;
  await mkdir(dir, { recursive: true });
  made.add(dir);
}

/** fsyncs directories (entries created/renamed in them become durable). Missing ones are ignored. */
export async function syncDirs(dirs: Iterable<string>, concurrency = 8): Promise<void> {
  const list = [...dirs];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const d = list[next++] as string;
      const fh = await open(d, 'r').catch(() => null);
      if (!fh) continue;
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
}

/** fdatasyncs files (by path) with bounded concurrency; files that vanished are ignored. */
export async function syncFiles(paths: readonly string[], concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const fh = await open(paths[next++] as string, 'r').catch(() => null);
      if (!fh) continue;
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
}
