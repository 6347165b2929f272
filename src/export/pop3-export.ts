/**
 * POP3 side of the export: UIDL, LIST for sizes, then pipelined RETR of the messages whose UIDL is
 * not in the manifest yet, into the sink as folder "INBOX" named by UIDL. Never DELE: the session
 * ends with QUIT and nothing marked for deletion.
 */
import type { Pop3Client } from '../sources/pop3/client.js';
import type { MessageRecord } from './manifest.js';
import type { Sink } from './sink.js';

export const POP3_FOLDER = 'INBOX';

export interface Pop3Plan {
  todo: Array<{ n: number; uidl: string; size: number }>;
  bytes: number;
  serverCount: number;
}

/** Which messages are new (by UIDL) relative to the manifest. */
export async function planPop3(client: Pop3Client, records: Iterable<MessageRecord>): Promise<Pop3Plan> {
  const done = new Set<string>();
  for (const r of records) if (r.uidl !== undefined) done.add(r.uidl);
  const [uidl, list] = [await client.uidl(), await client.list()];
  const sizes = new Map(list.map((e) => [e.n, e.size]));
  const todo = uidl
    .filter((e) => !done.has(e.uid))
    .map((e) => ({ n: e.n, uidl: e.uid, size: sizes.get(e.n) ?? 0 }));
  return { todo, bytes: todo.reduce((a, t) => a + t.size, 0), serverCount: uidl.length };
}

export async function fetchPop3(
  client: Pop3Client,
  plan: Pop3Plan,
  folderPath: string,
  sink: Sink,
): Promise<void> {
  const byN = new Map(plan.todo.map((t) => [t.n, t]));
  await client.retrMany(
    plan.todo.map((t) => t.n),
    async (n, raw) => {
      const t = byN.get(n);
      if (!t) return;
      await sink.add({
        folder: POP3_FOLDER,
        folderPath,
        uidValidity: null,
        uid: null,
        uidl: t.uidl,
        flags: [],
        internalDate: null,
        raw,
      });
    },
  );
}
