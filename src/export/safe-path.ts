/**
 * Server-supplied names (IMAP folders, POP3 UIDLs) → relative paths that cannot leave the export
 * directory. Each hierarchy segment is encoded injectively: `%`, path separators, NUL and other
 * control characters, and characters Windows rejects are percent-encoded; a leading `.` (so `.`,
 * `..` and hidden names), trailing dots/spaces, Maildir's `cur`/`new`/`tmp` and the `.mbox`/`.eml`
 * suffixes our layouts use are neutralised; over-long segments are cut and get a hash suffix.
 * The mapping is recorded in the manifest, so it never needs to be reversed.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Longest encoded segment in bytes (NAME_MAX is 255; leaves room for `.mbox` and temp names). */
export const MAX_SEGMENT_BYTES = 180;
/** Deepest folder hierarchy kept as directories; deeper levels are folded into the last segment. */
export const MAX_DEPTH = 32;

const RESERVED = new Set(['cur', 'new', 'tmp']);
// Percent-encoded anywhere in a segment: controls, DEL, the escape char and separators, plus
// characters that are invalid on Windows/macOS file systems.
const UNSAFE = /[\u0000-\u001f\u007f%/\\:*?"<>|]/gu;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function pct(ch: string): string {
  return [...Buffer.from(ch, 'utf8')]
    .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** Encodes one name segment into a safe, non-empty file name. */
export function encodeSegment(segment: string): string {
  if (segment.length === 0) return '%empty';
  // Lone surrogates cannot be written as UTF-8 file names: U+FFFD, and a hash suffix below.
  const wellFormed = segment.replace(LONE_SURROGATE, '\ufffd');
  let s = wellFormed.replace(UNSAFE, pct);
  if (s.startsWith('.')) s = `%2E${s.slice(1)}`;
  if (/[. ]$/u.test(s)) s = `${s.slice(0, -1)}${pct(s.slice(-1))}`;
  if (RESERVED.has(s.toLowerCase())) s = `${pct(s[0] as string)}${s.slice(1)}`;
  const suffix = /\.(mbox|eml)$/iu.exec(s);
  if (suffix) s = `${s.slice(0, suffix.index)}%2E${suffix[1] as string}`;
  if (Buffer.byteLength(s, 'utf8') > MAX_SEGMENT_BYTES || wellFormed !== segment) {
    const hash = createHash('sha256').update(segment, 'utf8').digest('hex').slice(0, 16);
    s = `${truncateUtf8(s, MAX_SEGMENT_BYTES - 17).replace(/%[0-9A-F]?$/u, '')}~${hash}`;
  }
  return s;
}

/** Splits a folder name by its delimiter (none: one segment) and encodes every segment. */
export function folderToRelPath(name: string, delimiter: string | null | undefined): string {
  const parts = delimiter ? name.split(delimiter) : [name];
  const deep = parts.length > MAX_DEPTH ? [...parts.slice(0, MAX_DEPTH - 1), parts.slice(MAX_DEPTH - 1).join(delimiter ?? '')] : parts; // prettier-ignore
  const rel = deep.map(encodeSegment).join('/');
  assertRelativeSafe(rel);
  return rel;
}

/** Throws unless `rel` is a plain relative path of safe segments (defence in depth). */
export function assertRelativeSafe(rel: string): void {
  if (rel.length === 0 || isAbsolute(rel) || rel.includes('\\') || rel.includes('\u0000')) {
    throw new Error(`unsafe relative path: ${JSON.stringify(rel)}`);
  }
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.' || seg === '..')
      throw new Error(`unsafe relative path: ${JSON.stringify(rel)}`);
  }
}

/** Resolves `rel` under `root` and throws if the result is not strictly inside `root`. */
export function insideRoot(root: string, rel: string): string {
  assertRelativeSafe(rel);
  const base = resolve(root);
  const full = resolve(base, rel);
  const back = relative(base, full);
  if (back === '' || back.startsWith(`..${sep}`) || back === '..' || isAbsolute(back)) {
    throw new Error(`path escapes the export directory: ${JSON.stringify(rel)}`);
  }
  return full;
}

/**
 * Assigns each folder a unique path: the encoded name, or `~2`, `~3`... when another folder
 * already has it (case-insensitively, for case-folding file systems). `taken` holds earlier
 * assignments (from the manifest) and is updated.
 */
export function assignFolderPath(
  name: string,
  delimiter: string | null | undefined,
  taken: Map<string, string>,
): string {
  const owners = new Map<string, string>();
  for (const [folder, path] of taken) owners.set(path.toLowerCase(), folder);
  const existing = taken.get(name);
  if (existing) return existing;
  const base = folderToRelPath(name, delimiter);
  let candidate = base;
  for (let n = 2; owners.has(candidate.toLowerCase()); n++) {
    candidate = `${base}~${n}`;
  }
  taken.set(name, candidate);
  return candidate;
}
