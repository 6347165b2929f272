/**
 * IMAP side of the export. Read-only throughout: every mailbox is opened with EXAMINE
 * (`readOnly: true`) and bodies are fetched with BODY.PEEK (imapflow's `source`/`download`), so
 * server flags never change. Per folder: plan (UIDVALIDITY, UID SEARCH, sizes of what is not yet
 * exported), then stream `UID FETCH <set> (UID FLAGS INTERNALDATE BODY.PEEK[])` over one or more
 * connections straight into the sink; the loop body only queues file writes (no IMAP command inside
 * a fetch loop). Messages over `bigMessageBytes` are streamed with download() after the loop.
 */
import type { ImapFlow, ListResponse } from 'imapflow';
import type { Logger } from 'pino';
import { keptFlags } from './layout.js';
import { contentKey, type MessageRecord } from './manifest.js';
import type { IncomingMessage, Sink } from './sink.js';

export interface FolderPlan {
  folder: string;
  folderPath: string;
  uidValidity: string;
  /** UIDs to fetch, ascending, split by size. */
  small: number[];
  big: number[];
  bytes: number;
  /** Server UIDs in scope (for state), highest first not required. */
  serverCount: number;
  remap: Map<string, MessageRecord[]>;
}

export class UidValidityChangedError extends Error {
  constructor(folder: string) {
    super(`UIDVALIDITY of "${folder}" changed during the export; run it again`);
  }
}

/** Selectable folders (no \Noselect / \NonExistent), optionally restricted to `only`. */
export function selectableFolders(list: ListResponse[], only: string[] | null): ListResponse[] {
  const norm = (p: string): string => (p.toUpperCase() === 'INBOX' ? 'INBOX' : p);
  const wanted = only ? new Set(only.map(norm)) : null;
  return list.filter((f) => {
    const flags = [...f.flags].map((x) => x.toLowerCase());
    if (flags.includes('\\noselect') || flags.includes('\\nonexistent')) return false;
    return !wanted || wanted.has(norm(f.path));
  });
}

/** Splits `items` into `n` contiguous slices of near-equal length (no empty slices). */
export function slices<T>(items: readonly T[], n: number): T[][] {
  const k = Math.max(1, Math.min(n, items.length));
  const out: T[][] = [];
  for (let i = 0; i < k; i++) {
    const s = items.slice(Math.floor((i * items.length) / k), Math.floor(((i + 1) * items.length) / k));
    if (s.length) out.push(s);
  }
  return out;
}

/** Groups records of a folder under other UIDVALIDITYs by content key (re-mapping after a reset). */
export function remapIndex(
  records: Iterable<MessageRecord>,
  folder: string,
  uidValidity: string,
): Map<string, MessageRecord[]> {
  const idx = new Map<string, MessageRecord[]>();
  for (const r of records) {
    if (r.folder !== folder || r.uidValidity === uidValidity) continue;
    const k = contentKey(r);
    const list = idx.get(k);
    if (list) list.push(r);
    else idx.set(k, [r]);
  }
  return idx;
}

/** Plans one folder: which UIDs are new relative to the manifest, and their sizes. */
export async function planFolder(
  client: ImapFlow,
  f: { folder: string; folderPath: string },
  records: Iterable<MessageRecord>,
  opts: { since?: Date | undefined; bigMessageBytes: number },
): Promise<FolderPlan> {
  const lock = await client.getMailboxLock(f.folder, { readOnly: true });
  try {
    const mb = client.mailbox;
    if (!mb) throw new Error(`could not open ${f.folder}`);
    const uidValidity = String(mb.uidValidity);
    const all = [...records];
    const done = new Set<number>();
    for (const r of all)
      if (r.folder === f.folder && r.uidValidity === uidValidity && r.uid !== null) done.add(r.uid);
    const plan: FolderPlan = { ...f, uidValidity, small: [], big: [], bytes: 0, serverCount: 0, remap: remapIndex(all, f.folder, uidValidity) }; // prettier-ignore
    if (mb.exists === 0) return plan;
    const found = await client.search(opts.since ? { since: opts.since } : { all: true }, { uid: true });
    const uids = (found || []).sort((a, b) => a - b);
    plan.serverCount = uids.length;
    const todo = uids.filter((u) => !done.has(u));
    if (todo.length === 0) return plan;
    const sizes = new Map<number, number>();
    for await (const m of client.fetch(todo, { uid: true, size: true }, { uid: true }))
      sizes.set(m.uid, m.size ?? 0);
    for (const uid of todo) {
      const size = sizes.get(uid);
      if (size === undefined) continue; // expunged since the search
      (size > opts.bigMessageBytes ? plan.big : plan.small).push(uid);
      plan.bytes += size;
    }
    return plan;
  } finally {
    lock.release();
  }
}

function toMessage(
  plan: FolderPlan,
  m: { uid: number; flags?: Set<string> | undefined; internalDate?: Date | string | undefined },
  raw: Buffer,
): IncomingMessage {
  // prettier-ignore
  return {
    folder: plan.folder,
    folderPath: plan.folderPath,
    uidValidity: plan.uidValidity,
    uid: m.uid,
    flags: keptFlags(m.flags ?? []),
    internalDate: m.internalDate ? new Date(m.internalDate) : null,
    raw,
    remap: plan.remap,
  };
}

/** Fetches `uids` of the planned folder over `client` into the sink. */
export async function fetchInto(
  client: ImapFlow,
  plan: FolderPlan,
  uids: { small: number[]; big: number[] },
  sink: Sink,
  log: Logger,
  batch = 2000,
): Promise<void> {
  const lock = await client.getMailboxLock(plan.folder, { readOnly: true });
  try {
    if (String(client.mailbox && client.mailbox.uidValidity) !== plan.uidValidity) {
      throw new UidValidityChangedError(plan.folder);
    }
    for (let i = 0; i < uids.small.length; i += batch) {
      const set = uids.small.slice(i, i + batch);
      const query = { uid: true, flags: true, internalDate: true, source: true };
      for await (const m of client.fetch(set, query, { uid: true })) {
        if (!m.source) continue;
        await sink.add(toMessage(plan, m, m.source));
      }
    }
    for (const uid of uids.big) {
      const meta = await client.fetchOne(
        String(uid),
        { uid: true, flags: true, internalDate: true },
        { uid: true },
      );
      if (!meta) continue;
      const dl = await client.download(String(uid), undefined, { uid: true });
      if (!dl.content) continue;
      const chunks: Buffer[] = [];
      for await (const c of dl.content) chunks.push(c as Buffer);
      log.debug({ action: 'download', folder: plan.folder, uid, bytes: dl.meta.expectedSize });
      await sink.add(toMessage(plan, meta, Buffer.concat(chunks)));
    }
  } finally {
    lock.release();
  }
}
