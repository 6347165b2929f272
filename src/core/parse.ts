/**
 * Parse raw bytes with mailparser's streaming parser: attachments above a threshold are streamed
 * to disk (never wholly in memory), limits on header size, part count and HTML length apply.
 * Malformed input never throws past here unless the limits are exceeded (which is permanent).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  MailParser,
  type AddressObject,
  type AttachmentStream,
  type HeaderLines,
  type MessageText,
} from 'mailparser';
import { PermanentError } from './errors.js';
import { normaliseMessageId } from './message.js';
import type { Address, AttachmentInfo, ParsedMessage } from './parsed.js';

export interface ParseLimits {
  /** Attachments larger than this are written to `attachmentDir` instead of kept in memory. */
  inlineAttachmentMax: number;
  attachmentDir: string;
  maxHeadSize: number;
  maxParts: number;
  maxHtmlLength: number;
}

export const DEFAULT_PARSE_LIMITS: Omit<ParseLimits, 'attachmentDir'> = {
  inlineAttachmentMax: 256 * 1024,
  maxHeadSize: 1024 * 1024,
  maxParts: 1000,
  maxHtmlLength: 2_000_000,
};

/**
 * The header block of a message: everything up to and including the first empty line (CRLF or bare
 * LF endings), or the whole message when it has no body. A view, not a copy. Not classify's
 * `bodyStart`: that one also ends the header at a bare-CR blank line, where mailparser (whose
 * header fields this must reproduce) reads on; the corpus test catches the difference.
 */
export function headerBlock(raw: Buffer): Buffer {
  let i = raw.indexOf(0x0a);
  while (i >= 0) {
    // An empty line: LF directly after the previous LF, or after "LF CR".
    const next = raw[i + 1];
    if (next === 0x0a) return raw.subarray(0, i + 2);
    if (next === 0x0d && raw[i + 2] === 0x0a) return raw.subarray(0, i + 3);
    i = raw.indexOf(0x0a, i + 1);
  }
  return raw;
}

/**
 * Parses only the header block: the same header fields as `parseMessage` (addresses, subject,
 * dates, ids, raw header lines), with no text, html or attachments. Routing and classification
 * need nothing more, so messages whose handlers take only the raw bytes (Maildir, a command fed
 * the raw message) skip the body entirely.
 */
export async function parseHeaders(raw: Buffer, limits: ParseLimits, key: string): Promise<ParsedMessage> {
  const head = headerBlock(raw);
  // A message that is all header (no empty line) gets one, so the parser sees a complete head.
  const input =
    head.length === raw.length && !/\r?\n\r?\n$/.test(tail(head)) ? Buffer.concat([head, CRLFCRLF]) : head;
  const p = await parseMessage(input, limits, key);
  // An empty body may still yield an empty part (e.g. message/rfc822): there is no body here.
  return { ...p, text: null, html: null, attachments: [] };
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function tail(b: Buffer): string {
  return b.subarray(Math.max(0, b.length - 4)).toString('latin1');
}

export async function parseMessage(
  input: Buffer | Readable,
  limits: ParseLimits,
  key: string,
): Promise<ParsedMessage> {
  const parser = new MailParser({
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false,
    maxHeadSize: limits.maxHeadSize,
    maxChildNodes: limits.maxParts,
    maxHtmlLengthToParse: limits.maxHtmlLength,
  });
  const out: ParsedMessage = {
    from: [],
    to: [],
    cc: [],
    replyTo: [],
    subject: '',
    date: null,
    messageId: null,
    inReplyTo: null,
    references: [],
    text: null,
    html: null,
    attachments: [],
    headers: new Map(),
    warnings: [],
  };
  const pending: Promise<void>[] = [];
  let n = 0;
  parser.on('headerLines', (lines: HeaderLines) => {
    for (const { key: k, line } of lines) {
      const idx = line.indexOf(':');
      const value = (idx >= 0 ? line.slice(idx + 1) : '').replace(/\r?\n[ \t]/g, ' ').trim();
      const list = out.headers.get(k);
      if (list) list.push(value);
      else out.headers.set(k, [value]);
    }
  });
  parser.on('headers', (h) => {
    out.from = addresses(h.get('from'));
    out.to = addresses(h.get('to'));
    out.cc = addresses(h.get('cc'));
    out.replyTo = addresses(h.get('reply-to'));
    const subject = h.get('subject');
    out.subject = typeof subject === 'string' ? subject : '';
    const date = h.get('date');
    out.date = date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
    const mid = h.get('message-id');
    out.messageId = typeof mid === 'string' ? normaliseMessageId(mid) : null;
    const irt = h.get('in-reply-to');
    out.inReplyTo = typeof irt === 'string' ? normaliseMessageId(irt) : null;
    const refs = h.get('references');
    const refList = Array.isArray(refs) ? refs : typeof refs === 'string' ? refs.split(/\s+/) : [];
    out.references = refList.map((r) => normaliseMessageId(String(r))).filter((r): r is string => !!r);
  });
  parser.on('data', (d: AttachmentStream | MessageText) => {
    if (d.type === 'text') {
      out.text = d.text ?? null;
      out.html = d.html ?? null;
      if (d.textConversionError) out.warnings.push(`html-to-text: ${d.textConversionError.message}`);
      return;
    }
    pending.push(collectAttachment(d, limits, key, n++).then((a) => void out.attachments.push(a)));
  });
  try {
    if (Buffer.isBuffer(input)) {
      // Bytes in memory go straight in: no Readable, no stream.pipeline (whose per-call abort
      // controller and error objects cost more than parsing a header block).
      await new Promise<void>((resolve, reject) => {
        parser.once('error', reject);
        parser.once('end', resolve);
        parser.end(input);
      });
    } else {
      await pipeline(input, parser, new Writable({ objectMode: true, write: (_c, _e, cb) => cb() }));
    }
    await Promise.all(pending);
  } catch (err) {
    // The parser refuses only on hard limits (head size, part count): that input will not change.
    throw new PermanentError(`parse failed: ${(err as Error).message}`, 'PARSE', err);
  }
  // mailparser fills in "now" for a missing or unparseable Date header: that is not the message's date.
  const dates = out.headers.get('date') ?? [];
  if (!dates.some((v) => !Number.isNaN(new Date(v).getTime()))) out.date = null;
  return out;
}

async function collectAttachment(
  a: AttachmentStream,
  limits: ParseLimits,
  key: string,
  index: number,
): Promise<AttachmentInfo> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  let file: { path: string; stream: NodeJS.WritableStream } | null = null;
  try {
    for await (const chunk of a.content as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      if (!file && size > limits.inlineAttachmentMax) {
        const dir = join(limits.attachmentDir, key);
        await mkdir(dir, { recursive: true });
        const path = join(dir, `${index}${safeExt(a.filename)}`);
        const stream = createWriteStream(path);
        file = { path, stream };
        for (const c of chunks.splice(0)) await write(stream, c);
      }
      if (file) await write(file.stream, chunk);
      else chunks.push(chunk);
    }
    if (file)
      await new Promise<void>((res, rej) => file!.stream.end((e?: Error | null) => (e ? rej(e) : res())));
  } finally {
    a.release?.();
  }
  return {
    filename: a.filename ?? null,
    contentType: a.contentType,
    size,
    sha256: hash.digest('hex'),
    contentId: a.cid ?? null,
    inline: a.contentDisposition === 'inline' || a.related === true,
    path: file?.path ?? null,
    content: file ? null : Buffer.concat(chunks),
  };
}

/** Attachment names from mail never become paths: only a short, sanitised extension survives. */
function safeExt(name: string | undefined): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name ?? '');
  return m ? `.${m[1]!.toLowerCase()}` : '.bin';
}

function write(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((res) => (stream.write(chunk) ? res() : stream.once('drain', () => res())));
}

function addresses(v: unknown): Address[] {
  const objs: AddressObject[] = Array.isArray(v) ? (v as AddressObject[]) : v ? [v as AddressObject] : [];
  const out: Address[] = [];
  const walk = (list: AddressObject['value']) => {
    for (const e of list) {
      if (e.group) walk(e.group);
      else if (e.address) out.push({ name: e.name ?? '', address: e.address });
    }
  };
  for (const o of objs) if (o && Array.isArray(o.value)) walk(o.value);
  return out;
}
