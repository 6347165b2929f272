/**
 * A small, bounded MIME walker used only on suspected reports (the deep path). It works on a latin1
 * view of at most MAX_DEEP_BYTES with line endings normalised to LF, flattens the part tree
 * (bounded depth and count), and decodes the bodies of text and message/* report parts. Embedded
 * original messages (message/rfc822, text/rfc822-headers) are kept as text but not descended into.
 * Never throws on malformed structure: a missing boundary degrades to a single text part.
 */
import { decodeBytes, header, parseContentType, parseHeaderText, type HeaderField } from './headers.js';

/** Bytes of a message the deep path looks at; the rest is ignored. */
export const MAX_DEEP_BYTES = 4 * 1024 * 1024;
const MAX_PARTS = 64;
const MAX_DEPTH = 6;
/** Decoded text kept per part. */
const MAX_PART_TEXT = 256 * 1024;

export interface Part {
  type: string;
  params: Record<string, string>;
  fields: HeaderField[];
  /** Decoded text for text/* and message/* parts, '' otherwise. */
  text: string;
  /** True for an embedded original message or its headers (message/rfc822, text/rfc822-headers). */
  embedded: boolean;
}

function decodeQp(s: string): Buffer {
  const src = s.replace(/=[ \t]*\n/g, '');
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (c === 0x3d && i + 2 < src.length) {
      const hex = parseInt(src.slice(i + 1, i + 3), 16);
      if (!Number.isNaN(hex) && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 1, i + 3))) {
        out[n++] = hex;
        i += 2;
        continue;
      }
    }
    out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

function decodeBody(body: string, fields: readonly HeaderField[], charset: string | undefined): string {
  const cte = (header(fields, 'content-transfer-encoding') ?? '').trim().toLowerCase();
  const slice = body.length > MAX_PART_TEXT * 2 ? body.slice(0, MAX_PART_TEXT * 2) : body;
  let bytes: Buffer;
  if (cte === 'base64') bytes = Buffer.from(slice, 'base64');
  else if (cte === 'quoted-printable') bytes = decodeQp(slice);
  else bytes = Buffer.from(slice, 'latin1');
  const text = decodeBytes(bytes, charset);
  return text.length > MAX_PART_TEXT ? text.slice(0, MAX_PART_TEXT) : text;
}

function splitHeaderBody(s: string): { head: string; body: string } {
  if (s.startsWith('\n')) return { head: '', body: s.slice(1) };
  const i = s.indexOf('\n\n');
  return i < 0 ? { head: s, body: '' } : { head: s.slice(0, i), body: s.slice(i + 2) };
}

/** Splits a multipart body on its boundary; null when no delimiter line is found. */
function splitMultipart(body: string, boundary: string): string[] | null {
  const delim = '\n--' + boundary;
  const s = '\n' + body;
  const parts: string[] = [];
  let start = -1;
  let pos = s.indexOf(delim);
  let found = false;
  while (pos >= 0 && parts.length < MAX_PARTS) {
    const after = pos + delim.length;
    const eol = s.indexOf('\n', after);
    const rest = s.slice(after, eol < 0 ? s.length : eol);
    const close = rest.startsWith('--');
    if (!close && rest.trim() !== '') {
      pos = s.indexOf(delim, after);
      continue;
    }
    found = true;
    if (start >= 0) parts.push(s.slice(start, pos));
    if (close || eol < 0) return parts;
    start = eol + 1;
    pos = s.indexOf(delim, start - 1);
  }
  if (start >= 0 && parts.length < MAX_PARTS) parts.push(s.slice(start));
  return found ? parts : null;
}

function walk(fields: HeaderField[], body: string, depth: number, out: Part[]): void {
  if (out.length >= MAX_PARTS) return;
  const ct = parseContentType(header(fields, 'content-type'));
  const boundary = ct.params['boundary'];
  if (ct.type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const chunks = splitMultipart(body, boundary);
    if (chunks) {
      for (const chunk of chunks) {
        if (out.length >= MAX_PARTS) return;
        const { head, body: b } = splitHeaderBody(chunk);
        walk(parseHeaderText(head), b, depth + 1, out);
      }
      return;
    }
  }
  const embedded =
    ct.type === 'message/rfc822' ||
    ct.type === 'message/global' ||
    ct.type === 'text/rfc822-headers' ||
    ct.type === 'message/rfc822-headers';
  const textual =
    ct.type.startsWith('text/') || ct.type.startsWith('message/') || ct.type.startsWith('multipart/');
  const text = textual ? decodeBody(body, fields, ct.params['charset']) : '';
  out.push({ type: ct.type, params: ct.params, fields, text, embedded });
}

/** Flattened parts of `raw` (from its body offset), LF-normalised, bounded. */
export function walkMessage(raw: Buffer, topFields: HeaderField[], bodyOffset: number): Part[] {
  const end = Math.min(raw.length, MAX_DEEP_BYTES);
  const body = bodyOffset >= end ? '' : raw.toString('latin1', bodyOffset, end).replace(/\r\n?/g, '\n');
  const out: Part[] = [];
  walk(topFields, body, 0, out);
  return out;
}
