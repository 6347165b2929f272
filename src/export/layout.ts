/**
 * Where a message goes in each output layout (all under `<out>/folders/<folder path>`):
 * - maildir: `<path>/cur/<secs>.U<uidvalidity>_<uid>.mailintake,S=<size>:2,<flags>` (+ new/, tmp/),
 *   file mtime = internal date;
 * - eml: `<path>/<uidvalidity>-<uid>.eml`, mtime = internal date;
 * - mbox: `<path>.mbox`, mboxrd entries appended (offset and length in the manifest).
 * POP3 messages use `P<encoded UIDL>` in place of the UIDVALIDITY/UID pair.
 */
import { encodeSegment } from './safe-path.js';
import type { ExportFormat } from './manifest.js';

export const FOLDERS_DIR = 'folders';

/** IMAP system flag → Maildir info letter. */
const LETTERS: Array<[string, string]> = [
  ['\\Draft', 'D'],
  ['\\Flagged', 'F'],
  ['$Forwarded', 'P'],
  ['\\Answered', 'R'],
  ['\\Seen', 'S'],
  ['\\Deleted', 'T'],
];

/** Maildir `:2,` info letters, in ASCII order as the spec requires. Keywords are not representable. */
export function maildirInfo(flags: readonly string[]): string {
  const lower = new Set(flags.map((f) => f.toLowerCase()));
  return `:2,${LETTERS.filter(([f]) => lower.has(f.toLowerCase())).map(([, l]) => l).join('')}`; // prettier-ignore
}

/** Flags worth keeping: `\Recent` is session state and cannot be restored. */
export function keptFlags(flags: Iterable<string>): string[] {
  return [...flags].filter((f) => f.toLowerCase() !== '\\recent').sort();
}

/** Identity part of a file name: `U<uidvalidity>_<uid>` (IMAP) or `P<encoded uidl>` (POP3). */
export function messageTag(id: { uidValidity: string | null; uid: number | null; uidl?: string }): string {
  if (id.uidl !== undefined) return `P${encodeSegment(id.uidl)}`;
  return `U${id.uidValidity ?? '0'}_${id.uid ?? 0}`;
}

export interface FileTarget {
  /** Relative to the output directory. */
  file: string;
  /** Directory (relative) the file lives in. */
  dir: string;
}

/** File for one message in the maildir/eml layouts; for mbox, the folder's mbox file. */
export function messageFile(
  format: ExportFormat,
  folderPath: string,
  id: { uidValidity: string | null; uid: number | null; uidl?: string },
  meta: { size: number; flags: readonly string[]; internalDate: Date | null },
): FileTarget {
  const base = `${FOLDERS_DIR}/${folderPath}`;
  const tag = messageTag(id);
  if (format === 'mbox') return { file: `${base}.mbox`, dir: parentOf(base) };
  if (format === 'eml') {
    const name = id.uidl !== undefined ? tag : `${id.uidValidity ?? '0'}-${id.uid ?? 0}`;
    return { file: `${base}/${name}.eml`, dir: base };
  }
  const secs = Math.floor((meta.internalDate?.getTime() ?? 0) / 1000);
  return { file: `${base}/cur/${secs}.${tag}.mailintake,S=${meta.size}${maildirInfo(meta.flags)}`, dir: `${base}/cur` }; // prettier-ignore
}

/** Directories a maildir folder needs so mail readers accept it. */
export function maildirDirs(folderPath: string): string[] {
  const base = `${FOLDERS_DIR}/${folderPath}`;
  return [`${base}/cur`, `${base}/new`, `${base}/tmp`];
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '.' : rel.slice(0, i);
}
