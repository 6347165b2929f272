/**
 * Cheap header-block scanner for the classifier's hot path. Reads only the top header block of a
 * raw message (bounded), unfolds continuation lines, and never throws. Values stay in a latin1 view
 * of the bytes; RFC 2047 words are decoded only on demand (subjects).
 */

/** One header field: lower-cased name, unfolded value (latin1 view, trimmed). */
export interface HeaderField {
  name: string;
  value: string;
}

/** Hard cap on the header bytes we look at (a 200 KB header exists in the wild). */
export const MAX_HEADER_BYTES = 512 * 1024;

/** Folded values are cut after this many characters (enough for any header we classify on). */
export const MAX_VALUE_CHARS = 16 * 1024;

/** Splits a header text (already a string) into unfolded fields. Lines without a colon are skipped. */
export function parseHeaderText(text: string): HeaderField[] {
  const lines = text.split(/\r\n|\n|\r/);
  const out: HeaderField[] = [];
  let current: HeaderField | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') break;
    const c = line.charCodeAt(0);
    if (c === 0x20 || c === 0x09) {
      if (current && current.value.length < MAX_VALUE_CHARS) current.value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    // mbox "From " separator or garbage: not a field.
    if (colon <= 0 || /[ \t]/.test(line.slice(0, colon).trimEnd())) {
      current = null;
      continue;
    }
    current = {
      name: line.slice(0, colon).trim().toLowerCase(),
      value: line.slice(colon + 1, colon + 1 + MAX_VALUE_CHARS).trim(),
    };
    out.push(current);
  }
  return out;
}

/** Offset of the first byte of the body (after the blank line), or the buffer length. */
export function bodyStart(raw: Buffer, limit: number = MAX_HEADER_BYTES): number {
  const n = Math.min(raw.length, limit);
  for (let i = 0; i < n; i++) {
    const b = raw[i];
    if (b !== 0x0a && b !== 0x0d) continue;
    // i is a line end; look for an immediately following empty line.
    let j = i + (b === 0x0d && raw[i + 1] === 0x0a ? 2 : 1);
    const c = raw[j];
    if (c === 0x0a) return j + 1;
    if (c === 0x0d) {
      j += raw[j + 1] === 0x0a ? 2 : 1;
      return j;
    }
  }
  return raw.length <= limit ? raw.length : limit;
}

/** Top-level header fields of a raw message, bounded to MAX_HEADER_BYTES. */
export function readHeaders(raw: Buffer): { fields: HeaderField[]; bodyOffset: number } {
  const bodyOffset = bodyStart(raw);
  const text = raw.toString('latin1', 0, Math.min(bodyOffset, MAX_HEADER_BYTES));
  return { fields: parseHeaderText(text), bodyOffset };
}

export function header(fields: readonly HeaderField[], name: string): string | null {
  for (const f of fields) if (f.name === name) return f.value;
  return null;
}

export function headers(fields: readonly HeaderField[], name: string): string[] {
  const out: string[] = [];
  for (const f of fields) if (f.name === name) out.push(f.value);
  return out;
}

/** Parsed Content-Type: lower-cased `type/subtype` and lower-cased parameter names. */
export interface ContentType {
  type: string;
  params: Record<string, string>;
}

export function parseContentType(value: string | null): ContentType {
  if (!value) return { type: 'text/plain', params: {} };
  // Tolerates a missing `;` before parameters (`text/plain charset="x"`).
  const m = /^\s*([\w!#$&^.+-]+\/[\w!#$&^.+-]+)/.exec(value);
  const type = m?.[1]?.toLowerCase() ?? 'text/plain';
  const params: Record<string, string> = {};
  const re = /(?:^|[;\s])\s*([\w.*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g;
  const rest = m ? value.slice(m[0].length) : value;
  let p: RegExpExecArray | null;
  while ((p = re.exec(rest)) !== null) {
    const key = (p[1] ?? '').toLowerCase();
    if (!(key in params)) params[key] = p[2] ?? p[3] ?? '';
  }
  return { type, params };
}

/** Subject prefix length we classify on: a 200 KB folded subject must not cost 40 ms. */
export const MAX_SUBJECT_CHARS = 1000;

/** The decoded subject (first MAX_SUBJECT_CHARS of the raw value), or null. */
export function subjectOf(fields: readonly HeaderField[]): string | null {
  const v = header(fields, 'subject');
  return v === null ? null : decodeWords(v.slice(0, MAX_SUBJECT_CHARS));
}

/** Decodes text bytes with a declared charset; unknown charsets fall back to UTF-8. */
export function decodeBytes(bytes: Buffer, charset: string | undefined): string {
  const cs = (charset ?? 'utf-8').trim().toLowerCase();
  if (cs === 'us-ascii' || cs === 'ascii') return bytes.toString('latin1');
  try {
    return new TextDecoder(cs, { fatal: false }).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function qDecode(text: string): Buffer {
  const s = text.replace(/_/g, ' ');
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '=' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(s.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decodes RFC 2047 encoded words (`=?charset?B|Q?...?=`) in a latin1-view header value. Raw 8-bit
 * UTF-8 in the value is re-read as UTF-8 first.
 */
export function decodeWords(value: string): string {
  let v = value;
  if (/[\x80-\xff]/.test(v)) v = Buffer.from(v, 'latin1').toString('utf8');
  if (!v.includes('=?')) return v;
  return v
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g, (_all, cs: string, enc: string, data: string) => {
      const bytes = enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64') : qDecode(data);
      return decodeBytes(bytes, cs.split('*')[0]);
    });
}
