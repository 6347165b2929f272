/**
 * Reading back an export, verifying it, and repairing it after a crash.
 * - `readRecordBytes`: the exact message bytes of a manifest record (mbox entries un-quoted).
 * - `verifyExport`: re-hash every current record against the manifest.
 * - `reconcile`: run before an export resumes. Cuts a torn manifest tail, drops records whose bytes
 *   are missing or wrong (re-hashing everything when the last run was not clean), truncates mbox
 *   files after their last recorded entry and deletes files no record points to (temp files,
 *   messages renamed into place just before a kill). Afterwards files ⊆ manifest and every record's
 *   bytes are present, so re-fetching what is missing cannot create duplicates.
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { splitMbox } from '../core/mbox.js';
import { writeFileAtomic } from '../handlers/atomic.js';
import { TMP_PREFIX } from './files.js';
import { FOLDERS_DIR } from './layout.js';
import {
  MANIFEST,
  readManifest,
  renderManifest,
  type ManifestState,
  type MessageRecord,
} from './manifest.js';
import { insideRoot } from './safe-path.js';

export async function readRecordBytes(out: string, rec: MessageRecord): Promise<Buffer> {
  const path = insideRoot(out, rec.file);
  if (rec.offset === undefined) return readFile(path);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(rec.length ?? 0);
    const { bytesRead } = await fh.read(buf, 0, buf.length, rec.offset);
    const [raw] = splitMbox(buf.subarray(0, bytesRead));
    return raw ?? Buffer.alloc(0);
  } finally {
    await fh.close();
  }
}

export interface Mismatch {
  file: string;
  folder: string;
  uid: number | null;
  reason: string;
}

async function checkRecord(out: string, rec: MessageRecord): Promise<string | null> {
  let raw: Buffer;
  try {
    raw = await readRecordBytes(out, rec);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (err as Error).message;
  }
  if (raw.length !== rec.size) return `size ${raw.length} != ${rec.size}`;
  const digest = createHash('sha256').update(raw).digest('hex');
  return digest === rec.sha256 ? null : `sha256 ${digest} != ${rec.sha256}`;
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Re-reads every record of the manifest and compares size and SHA-256. */
export async function verifyExport(out: string): Promise<{ checked: number; mismatches: Mismatch[] }> {
  const m = await readManifest(join(out, MANIFEST));
  const mismatches: Mismatch[] = [];
  const recs = [...m.messages.values()];
  await mapLimit(recs, 8, async (rec) => {
    const reason = await checkRecord(out, rec);
    if (reason) mismatches.push({ file: rec.file, folder: rec.folder, uid: rec.uid, reason });
  });
  if (m.badLines > 0) mismatches.push({ file: MANIFEST, folder: '', uid: null, reason: `${m.badLines} unreadable lines` }); // prettier-ignore
  return { checked: recs.length, mismatches };
}

export interface ReconcileReport {
  records: number;
  dropped: number;
  orphansRemoved: number;
  tornTail: boolean;
}

/** Repairs the export directory; returns the manifest as it now stands. */
export async function reconcile(
  out: string,
  opts: { rehash: boolean },
): Promise<{ manifest: ManifestState; report: ReconcileReport }> {
  const mpath = join(out, MANIFEST);
  const manifest = await readManifest(mpath);
  const report: ReconcileReport = { records: 0, dropped: 0, orphansRemoved: 0, tornTail: false };
  if (manifest.totalBytes > manifest.goodBytes) {
    await truncate(mpath, manifest.goodBytes);
    report.tornTail = true;
  }
  const bad: string[] = [];
  const mboxEnd = new Map<string, number>();
  await mapLimit([...manifest.messages.entries()], 8, async ([key, rec]) => {
    let ok: boolean;
    if (opts.rehash) ok = (await checkRecord(out, rec)) === null;
    else {
      const st = await stat(insideRoot(out, rec.file)).catch(() => null);
      if (rec.offset === undefined) ok = st?.size === rec.size;
      else ok = st !== null && rec.offset + (rec.length ?? 0) <= st.size;
    }
    if (!ok) bad.push(key);
  });
  for (const key of bad) manifest.messages.delete(key);
  report.dropped = bad.length;
  for (const rec of manifest.messages.values()) {
    if (rec.offset === undefined) continue;
    const end = rec.offset + (rec.length ?? 0);
    mboxEnd.set(rec.file, Math.max(mboxEnd.get(rec.file) ?? 0, end));
  }
  if (bad.length > 0 || manifest.badLines > 0) await writeFileAtomic(mpath, renderManifest(manifest));
  // Files nothing points to: remove (maildir/eml) or cut back to the last recorded entry (mbox).
  const referenced = new Set([...manifest.messages.values()].map((r) => r.file));
  const root = join(out, FOLDERS_DIR);
  const files = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const ent of files) {
    if (!ent.isFile()) continue;
    const rel = `${FOLDERS_DIR}/${join(ent.parentPath, ent.name).slice(root.length + 1).split('\\').join('/')}`; // prettier-ignore
    const full = join(out, rel);
    if (rel.endsWith('.mbox')) {
      const end = mboxEnd.get(rel) ?? 0;
      const size = (await stat(full)).size;
      if (size > end) {
        await truncate(full, end);
        report.orphansRemoved++;
      }
      continue;
    }
    const ours =
      ent.name.startsWith(TMP_PREFIX) || ent.name.includes('.mailintake,S=') || ent.name.endsWith('.eml');
    if (ours && !referenced.has(rel)) {
      await rm(full, { force: true });
      report.orphansRemoved++;
    }
  }
  manifest.goodBytes = manifest.totalBytes = (await stat(mpath).catch(() => null))?.size ?? 0;
  report.records = manifest.messages.size;
  return { manifest, report };
}

/** mbox file sizes after reconcile (offset of the next entry), by relative path. */
export function mboxSizes(manifest: ManifestState): Map<string, number> {
  const out = new Map<string, number>();
  for (const rec of manifest.messages.values()) {
    if (rec.offset === undefined) continue;
    out.set(rec.file, Math.max(out.get(rec.file) ?? 0, rec.offset + (rec.length ?? 0)));
  }
  return out;
}
