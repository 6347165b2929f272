/**
 * File helpers for the export. Message files are written by write-job.ts (temp + rename); unlike
 * handlers/atomic.ts neither the file nor its directory is fsynced per message: the sink makes
 * everything written since the last checkpoint durable at once (`syncFilesystems`: one syncfs(2)
 * per filesystem; where that is not available, `syncFiles` + `syncDirs`), and reconcile repairs
 * whatever a power loss between checkpoints undoes (manifest lines whose file is missing or whose
 * bytes are wrong are dropped and fetched again).
 */
import { spawn } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';

export const TMP_PREFIX = '.tmp-export-';

const made = new Set<string>();

/** mkdir -p, remembered per process. */
export async function ensureDir(dir: string): Promise<void> {
  if (made.has(dir)) return;
  await mkdir(dir, { recursive: true });
  made.add(dir);
}

/** fsyncs directories (entries created/renamed in them become durable). Missing ones are ignored. */
export function syncDirs(dirs: Iterable<string>, concurrency = 8): Promise<void> {
  return syncEach([...dirs], 'sync', concurrency);
}

/** fdatasyncs files (by path) with bounded concurrency; files that vanished are ignored. */
export function syncFiles(paths: readonly string[], concurrency = 16): Promise<void> {
  return syncEach(paths, 'datasync', concurrency);
}

async function syncEach(
  paths: readonly string[],
  how: 'sync' | 'datasync',
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const fh = await open(paths[next++] as string, 'r').catch(() => null);
      if (!fh) continue;
      try {
        await fh[how]();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
}

let syncfsUsable = process.platform === 'linux';

/**
 * syncfs(2) on the filesystem of each of `paths` (one path per distinct device): every dirty file,
 * directory entry and inode on it reaches stable storage, with one journal commit and one cache
 * flush instead of one per file. Node has no binding for syncfs, so this runs coreutils'
 * `sync -f` (syncfs on each argument; since Linux 5.8 it reports writeback errors, including ones
 * no one has seen yet that happened before it opened the path). Resolves false, and is not tried
 * again in this process, when `sync -f` is missing or fails: the caller then falls back to
 * fdatasync per file and fsync per directory, which report per-file errors themselves.
 */
export async function syncFilesystems(paths: Iterable<string>): Promise<boolean> {
  if (!syncfsUsable) return false;
  const byDev = new Map<number, string>();
  for (const p of paths) {
    const st = await stat(p).catch(() => null);
    if (st && !byDev.has(st.dev)) byDev.set(st.dev, p);
  }
  if (byDev.size === 0) return true;
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn('sync', ['-f', '--', ...byDev.values()], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code, signal) => resolve(code === 0 && signal === null));
  });
  if (!ok) syncfsUsable = false;
  return ok;
}
