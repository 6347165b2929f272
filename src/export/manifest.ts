/**
 * The export manifest: `manifest.jsonl` in the output directory, one JSON object a line.
 * - `{"t":"folder", folder, delimiter, path, specialUse}` maps a server folder name to its safe
 *   relative path (see safe-path.ts).
 * - `{"t":"msg", ...}` describes one exported message and where its bytes are.
 * Lines are only appended; for the same storage key (file, or file + offset for mbox) the last line
 * wins, which is how a UIDVALIDITY re-map updates UIDs without touching the bytes. A torn last line
 * (crash mid-append) is ignored by the reader and cut off by reconcile.
 */
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export const MANIFEST = 'manifest.jsonl';

/** Output layouts. */
export type ExportFormat = 'maildir' | 'mbox' | 'eml';

/** One folder's name → path mapping. */
export interface FolderRecord {
  t: 'folder';
  folder: string;
  delimiter: string | null;
  /** Relative to `<out>/folders/`. */
  path: string;
  specialUse: string | null;
}

/** One exported message. */
export interface MessageRecord {
  t: 'msg';
  folder: string;
  /** IMAP: UIDVALIDITY as a decimal string; POP3: null. */
  uidValidity: string | null;
  uid: number | null;
  /** POP3 only. */
  uidl?: string;
  messageId: string | null;
  sha256: string;
  size: number;
  flags: string[];
  /** ISO 8601, or null when the server has none (POP3). */
  internalDate: string | null;
  /** Relative to the output directory. */
  file: string;
  /** mbox only: byte offset and length of the whole mboxrd entry in `file`. */
  offset?: number;
  length?: number;
}

export type ManifestRecord = FolderRecord | MessageRecord;

/** Storage key: one message's bytes live here. */
export function storageKey(m: MessageRecord): string {
  return m.offset === undefined ? m.file : `${m.file}#${m.offset}`;
}

/** Content key (DESIGN: normalised Message-ID + SHA-256). */
export function contentKey(m: { messageId: string | null; sha256: string }): string {
  return `${m.messageId ?? ''}|${m.sha256}`;
}

export interface ManifestState {
  folders: Map<string, FolderRecord>;
  /** storage key → current record. */
  messages: Map<string, MessageRecord>;
  /** Bytes of complete lines (a torn tail after this is garbage). */
  goodBytes: number;
  totalBytes: number;
  /** Lines that were not valid JSON records (not counting a torn tail). */
  badLines: number;
}

function isRecord(v: unknown): v is ManifestRecord {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  if (r.t === 'folder') return typeof r.folder === 'string' && typeof r.path === 'string';
  return r.t === 'msg' && typeof r.folder === 'string' && typeof r.sha256 === 'string' && typeof r.file === 'string' && typeof r.size === 'number'; // prettier-ignore
}

/** Parses manifest bytes. */
export function parseManifest(buf: Buffer): ManifestState {
  const state: ManifestState = { folders: new Map(), messages: new Map(), goodBytes: 0, totalBytes: buf.length, badLines: 0 }; // prettier-ignore
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    const line = buf.subarray(start, nl).toString('utf8');
    start = nl + 1;
    state.goodBytes = start;
    if (line.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      state.badLines++;
      continue;
    }
    if (!isRecord(rec)) {
      state.badLines++;
      continue;
    }
    if (rec.t === 'folder') state.folders.set(rec.folder, rec);
    else state.messages.set(storageKey(rec), rec);
  }
  return state;
}

export async function readManifest(path: string): Promise<ManifestState> {
  const buf = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  });
  return parseManifest(buf);
}

/** Serialises records (folders first) into manifest text. */
export function renderManifest(state: Pick<ManifestState, 'folders' | 'messages'>): string {
  const lines: string[] = [];
  for (const f of state.folders.values()) lines.push(JSON.stringify(f));
  for (const m of state.messages.values()) lines.push(JSON.stringify(m));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * Appends records with one synchronous write(2) each (a few microseconds; no buffered lines pile up
 * in memory when the disk is slow, and a line is in the kernel once append() returns). `sync()`
 * makes everything appended so far durable.
 */
export class ManifestWriter {
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a', 0o640);
  }

  append(rec: ManifestRecord): void {
    if (this.fd === null) throw new Error('manifest closed');
    const buf = Buffer.from(`${JSON.stringify(rec)}\n`, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
  }

  async sync(): Promise<void> {
    if (this.fd === null) return;
    const fd = this.fd;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (this.fd === null) return;
    await this.sync();
    closeSync(this.fd);
    this.fd = null;
  }
}
