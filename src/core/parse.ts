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
import mailsplit from '@zone-eu/mailsplit';
import { PermanentError } from './errors.js';
import { normaliseMessageId } from './message.js';
import { emptyParsed, type Address, type AttachmentInfo, type ParsedMessage } from './parsed.js';

export interface ParseLimits {
  /** Attachments larger than this are written to `attachmentDir` instead of kept in memory. */
  inlineAttachmentMax: number;
  attachmentDir: string;
  maxHeadSize: number;
  maxParts: number;
  maxHtmlLength: number;
}

/** mailsplit's header splitter (what MailParser's MIME nodes use). */
const { Headers } = mailsplit as unknown as { Headers: new (head: Buffer) => { getList(): unknown } };

function parserOptions(limits: Omit<ParseLimits, 'attachmentDir'>) {
  return {
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
    checksumAlgo: false as const,
    maxHeadSize: limits.maxHeadSize,
    maxChildNodes: limits.maxParts,
    maxHtmlLengthToParse: limits.maxHtmlLength,
  };
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
  const complete = head.length < raw.length || /\r?\n\r?\n$/.test(tail(head));
  // The common case without a stream parser: mailsplit's Headers splits the lines and mailparser's
  // own processHeaders decodes them, exactly as a full parse does for the root node, minus the
  // splitter, MIME node and stream machinery around them. Only for a complete head well under
  // maxHeadSize (each line counts at most its bytes + 64 there, and lines <= bytes): the rest go
  // through the parser, which enforces the limit.
  // (A message that starts with an empty line has an empty head, which the splitter reads its own way.)
  const blankFirst = raw[0] === 0x0a || raw[0] === 0x0d;
  if (complete && !blankFirst && head.length * 65 <= limits.maxHeadSize) return headersOnly(head);
  // A message that is all header (no empty line) gets one, so the parser sees a complete head.
  const input = complete ? head : Buffer.concat([head, CRLFCRLF]);
  const p = await parseMessage(input, limits, key);
  // An empty body may still yield an empty part (e.g. message/rfc822): there is no body here.
  return { ...p, text: null, html: null, attachments: [] };
}

interface HeaderProcessor {
  processHeaders(lines: HeaderLines): Map<string, unknown>;
}

/** One MailParser, never fed, lends its header decoding (`processHeaders`, what it runs for each
 * MIME node; internal API, pinned by the lockfile and checked by the corpus test). */
let processor: HeaderProcessor | null = null;
const PARSER_OPTIONS = parserOptions(DEFAULT_PARSE_LIMITS);

function headersOnly(head: Buffer): ParsedMessage {
  processor ??= new MailParser(PARSER_OPTIONS) as unknown as HeaderProcessor;
  const h = new Headers(head);
  const lines = h.getList() as HeaderLines;
  const out = emptyParsed();
  applyHeaderLines(out, lines);
  applyHeaders(out, processor.processHeaders(lines));
  fixDate(out);
  return out;
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
  const parser = new MailParser(parserOptions(limits));
  const out = emptyParsed();
  const pending: Promise<void>[] = [];
  let n = 0;
  parser.on('headerLines', (lines: HeaderLines) => applyHeaderLines(out, lines));
  parser.on('headers', (h: Map<string, unknown>) => applyHeaders(out, h));
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
  fixDate(out);
  return out;
}

function applyHeaderLines(out: ParsedMessage, lines: HeaderLines): void {
  for (const { key: k, line } of lines) {
    const idx = line.indexOf(':');
    const value = (idx >= 0 ? line.slice(idx + 1) : '').replace(/\r?\n[ \t]/g, ' ').trim();
    const list = out.headers.get(k);
    if (list) list.push(value);
    else out.headers.set(k, [value]);
  }
}

function applyHeaders(out: ParsedMessage, h: Map<string, unknown>): void {
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
}

/** mailparser fills in "now" for a missing or unparseable Date header: that is not the message's date. */
function fixDate(out: ParsedMessage): void {
  const dates = out.headers.get('date') ?? [];
  if (!dates.some((v) => !Number.isNaN(new Date(v).getTime()))) out.date = null;
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
