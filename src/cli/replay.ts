/**
 * `mailintake replay <file|dir|maildir|mbox>...`: feeds stored messages through the pipeline.
 * Each file (or mbox entry) has a stable position key, so re-running a replay after a crash only
 * adds what is missing and resumes unfinished work; `--again` replays as new deliveries (a
 * message already delivered is then recorded as a duplicate, not handled twice).
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { App } from '../app.js';
import { splitMbox } from '../core/mbox.js';

export interface ReplayItem {
  key: string;
  load: () => Promise<Buffer>;
  /** For big files: stream them into the spool instead of loading them whole. */
  stream?: () => Readable;
}

const STREAM_ABOVE = 1024 * 1024;

async function isDir(p: string): Promise<boolean> {
  return (await stat(p)).isDirectory();
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === 'tmp') continue; // Maildir tmp/ holds incomplete deliveries
      out.push(...(await listFiles(p)));
    } else if (e.isFile() && !e.name.startsWith('.')) out.push(p);
  }
  return out;
}

async function looksLikeMbox(path: string): Promise<boolean> {
  const fh = await import('node:fs/promises').then((f) => f.open(path, 'r'));
  try {
    const buf = Buffer.alloc(5);
    await fh.read(buf, 0, 5, 0);
    return buf.toString('latin1') === 'From ' && /\.(mbox|mbx)$|^mbox$/i.test(path.split('/').pop() ?? '');
  } finally {
    await fh.close();
  }
}

/** Lists what to replay: files one message each, `*.mbox` split into messages. */
export async function replayItems(paths: string[]): Promise<ReplayItem[]> {
  const items: ReplayItem[] = [];
  for (const p0 of paths) {
    const p = resolve(p0);
    const files = (await isDir(p)) ? await listFiles(p) : [p];
    for (const f of files) {
      if (await looksLikeMbox(f)) {
        const msgs = splitMbox(await readFile(f));
        msgs.forEach((m, i) => items.push({ key: `${f}#${i}`, load: () => Promise.resolve(m) }));
      } else {
        const big = (await stat(f)).size > STREAM_ABOVE;
        items.push(
          big
            ? { key: f, load: () => readFile(f), stream: () => createReadStream(f) }
            : { key: f, load: () => readFile(f) },
        );
      }
    }
  }
  return items;
}

export interface ReplayReport {
  total: number;
  added: number;
  known: number;
}

export async function replay(
  app: App,
  items: ReplayItem[],
  opts: { again?: boolean; concurrency?: number } = {},
): Promise<ReplayReport> {
  const suffix = opts.again ? `@${Date.now()}` : '';
  let added = 0;
  let known = 0;
  // Several receives in flight let the spool and the ledger group their fsyncs.
  const queue = [...items];
  const worker = async () => {
    for (let it = queue.shift(); it; it = queue.shift()) {
      const positionKey = `replay:${it.key}${suffix}`;
      if (app.intake.known(positionKey)) {
        known++;
        continue;
      }
      const req = {
        envelope: { mailFrom: null, rcptTo: [] },
        source: { kind: 'replay' as const, source: 'replay', positionKey },
      };
      const res = it.stream
        ? await app.intake.receiveStream(it.stream(), { ...req, maxBytes: Number.MAX_SAFE_INTEGER })
        : await app.intake.receive(await it.load(), req);
      // Replaying mail whose first copy is dead brings that copy back (handlers that already
      // succeeded for it are not called again); anything else already seen stays a duplicate.
      const orig = res.row.duplicateOf === null ? undefined : app.store.get(res.row.duplicateOf);
      if (opts.again && orig?.status === 'dead') app.store.retry(orig.id, Date.now());
      added++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
  return { total: items.length, added, known };
}
