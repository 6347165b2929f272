/**
 * `restore`: APPEND an export back into an IMAP account, same folder names (hierarchy re-joined
 * with the target's delimiter, missing folders created), original flags and internal dates, in the
 * original UID order. Idempotent: before appending to a folder its existing messages are matched
 * by content key (Message-ID + SHA-256) as a multiset; ENVELOPE Message-ID + RFC822.SIZE pick the
 * candidates and only those are downloaded and hashed. Every byte read from the export is checked
 * against the manifest hash first; a mismatch is reported and never appended.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { ImapConfig } from '../config/schema.js';
import { normaliseMessageId } from '../core/message.js';
import { closeImap, connectImap } from './connect.js';
import { keptFlags } from './layout.js';
import { contentKey, MANIFEST, readManifest, type FolderRecord, type MessageRecord } from './manifest.js';
import type { Progress } from './progress.js';
import { readRecordBytes } from './reconcile.js';

export interface RestoreOptions {
  imap: ImapConfig;
  from: string;
  log: Logger;
  progress?: Progress | undefined;
  /** Only these folders (names as in the manifest); null = all. */
  mailboxes?: string[] | null;
}

export interface RestoreReport {
  folders: number;
  created: string[];
  appended: number;
  skipped: number;
  errors: Array<{ folder: string; file?: string; error: string }>;
}

/** Folder name on the target: the source's hierarchy joined with the target's delimiter. */
export function targetName(folder: string, srcDelim: string | null, dstDelim: string | null): string {
  if (folder.toUpperCase() === 'INBOX') return 'INBOX';
  if (!srcDelim || !dstDelim || srcDelim === dstDelim) return folder;
  return folder.split(srcDelim).join(dstDelim);
}

/** Records grouped by folder, each group in original (UIDVALIDITY, UID) order. */
export function groupByFolder(records: Iterable<MessageRecord>): Map<string, MessageRecord[]> {
  const out = new Map<string, MessageRecord[]>();
  for (const r of records) {
    const list = out.get(r.folder);
    if (list) list.push(r);
    else out.set(r.folder, [r]);
  }
  for (const list of out.values()) {
    list.sort(
      (a, b) => (a.uidValidity ?? '').localeCompare(b.uidValidity ?? '') || (a.uid ?? 0) - (b.uid ?? 0),
    );
  }
  return out;
}

/** Content keys already in `path` (a multiset: key → count), downloading only candidate messages. */
export async function presentKeys(
  client: ImapFlow,
  path: string,
  wanted: readonly MessageRecord[],
): Promise<Map<string, number>> {
  // prettier-ignore
  const present = new Map<string, number>();
  const lock = await client.getMailboxLock(path, { readOnly: true });
  try {
    if (!client.mailbox || client.mailbox.exists === 0) return present;
    const want = new Set(wanted.map((r) => `${r.messageId ?? ''}|${r.size}`));
    const candidates: number[] = [];
    for await (const m of client.fetch('1:*', { uid: true, envelope: true, size: true }, { uid: true })) {
      const id = normaliseMessageId(m.envelope?.messageId ?? null);
      if (want.has(`${id ?? ''}|${m.size ?? 0}`)) candidates.push(m.uid);
    }
    if (candidates.length === 0) return present;
    for await (const m of client.fetch(
      candidates,
      { uid: true, envelope: true, source: true },
      { uid: true },
    )) {
      if (!m.source) continue;
      const sha256 = createHash('sha256').update(m.source).digest('hex');
      const k = contentKey({ messageId: normaliseMessageId(m.envelope?.messageId ?? null), sha256 });
      present.set(k, (present.get(k) ?? 0) + 1);
    }
    return present;
  } finally {
    lock.release();
  }
}

async function ensureFolder(
  client: ImapFlow,
  name: string,
  existing: Set<string>,
  report: RestoreReport,
): Promise<void> {
  if (existing.has(name) || name === 'INBOX') return;
  await client.mailboxCreate(name);
  existing.add(name);
  report.created.push(name);
}

export async function runRestore(o: RestoreOptions): Promise<RestoreReport> {
  const manifest = await readManifest(join(o.from, MANIFEST));
  const groups = groupByFolder(manifest.messages.values());
  const wanted = o.mailboxes ? new Set(o.mailboxes) : null;
  const report: RestoreReport = { folders: 0, created: [], appended: 0, skipped: 0, errors: [] };
  const client = await connectImap(o.imap, o.log);
  try {
    const list = await client.list();
    const existing = new Set(list.map((f) => f.path));
    const dstDelim = list.find((f) => f.delimiter)?.delimiter ?? '/';
    const folders = [...manifest.folders.values()].filter((f) => groups.has(f.folder) && (!wanted || wanted.has(f.folder))); // prettier-ignore
    for (const f of folders) o.progress?.plan(groups.get(f.folder)!.length, groups.get(f.folder)!.reduce((a, r) => a + r.size, 0)); // prettier-ignore
    for (const f of folders) {
      report.folders++;
      await restoreFolder(client, o, f, groups.get(f.folder)!, targetName(f.folder, f.delimiter, dstDelim), existing, report); // prettier-ignore
    }
  } finally {
    await closeImap(client);
  }
  return report;
}

async function restoreFolder(
  client: ImapFlow,
  o: RestoreOptions,
  f: FolderRecord,
  records: MessageRecord[],
  target: string,
  existing: Set<string>,
  report: RestoreReport,
): Promise<void> {
  try {
    await ensureFolder(client, target, existing, report);
  } catch (err) {
    report.errors.push({ folder: f.folder, error: `create ${target}: ${(err as Error).message}` });
    return;
  }
  const present = await presentKeys(client, target, records);
  for (const rec of records) {
    const k = contentKey(rec);
    const have = present.get(k) ?? 0;
    if (have > 0) {
      present.set(k, have - 1);
      report.skipped++;
      o.progress?.tick(rec.size);
      continue;
    }
    let raw: Buffer;
    try {
      raw = await readRecordBytes(o.from, rec);
    } catch (err) {
      report.errors.push({ folder: f.folder, file: rec.file, error: (err as Error).message });
      continue;
    }
    if (createHash('sha256').update(raw).digest('hex') !== rec.sha256) {
      report.errors.push({
        folder: f.folder,
        file: rec.file,
        error: 'bytes do not match the manifest sha256',
      });
      continue;
    }
    const date = rec.internalDate ? new Date(rec.internalDate) : undefined;
    const res = await client.append(target, raw, keptFlags(rec.flags), date).catch((err: unknown) => {
      if (!client.usable) throw err;
      return (err as Error).message;
    });
    if (!res || typeof res === 'string') {
      report.errors.push({
        folder: f.folder,
        file: rec.file,
        error: `APPEND failed${res ? `: ${res}` : ''}`,
      });
      continue;
    }
    report.appended++;
    o.progress?.tick(rec.size);
  }
}
