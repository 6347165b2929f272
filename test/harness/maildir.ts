// Direct maildir access for the Dovecot harness: read exact bytes of stored messages (maildir GUID =
// base file name) and bulk-write new messages (tmp/ then rename into new/, names sorted in input
// order so Dovecot assigns UIDs in that order).
import { createHash } from 'node:crypto';
import { chown, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One message as stored: UID, IMAP flags, byte size and SHA-256 (hex) of the exact bytes. */
export interface StoredMessage {
  uid: number;
  flags: string[];
  size: number;
  sha256: string;
  /** Only set by read(). */
  raw?: Buffer;
}

/** Parses `doveadm -f tab fetch 'uid flags guid'` output and reads each message file. */
export async function listMaildir(
  path: string,
  tabOutput: string,
  withRaw = false,
): Promise<StoredMessage[]> {
  const files = new Map<string, string>();
  for (const sub of ['cur', 'new']) {
    for (const name of await readdir(join(path, sub)).catch(() => [] as string[])) {
      files.set(baseName(name), join(path, sub, name));
    }
  }
  const rows = tabOutput.split('\n').slice(1).filter((l) => l.trim().length > 0); // prettier-ignore
  const out: StoredMessage[] = [];
  for (const row of rows) {
    const [uid = '', flags = '', guid = ''] = row.split('\t');
    const file = files.get(baseName(guid.trim()));
    if (!file) throw new Error(`maildir file for guid ${guid} not found in ${path}`);
    const raw = await readFile(file);
    const msg: StoredMessage = {
      uid: Number(uid),
      flags: flags.split(' ').filter((f) => f.length > 0),
      size: raw.length,
      sha256: createHash('sha256').update(raw).digest('hex'),
    };
    if (withRaw) msg.raw = raw;
    out.push(msg);
  }
  return out.sort((a, b) => a.uid - b.uid);
}

function baseName(name: string): string {
  return name.split(/[:,]/)[0] ?? name;
}

/** Writes `raws` into `<path>/new` via `<path>/tmp`, owned by `owner`, at most 64 files in flight. */
export async function writeMaildirFiles(
  path: string,
  raws: readonly Buffer[],
  owner: { uid: number; gid: number },
): Promise<void> {
  const sec = Math.floor(Date.now() / 1000);
  const tag = `${process.pid}Q${Math.random().toString(36).slice(2, 8)}`;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < raws.length) {
      const i = next++;
      const raw = raws[i] as Buffer;
      // Dovecot sorts new files by seconds, then the .M microseconds field: i keeps input order.
      const name = `${sec + Math.floor(i / 1_000_000)}.M${i % 1_000_000}P${tag}.mailintake,S=${raw.length}`;
      const tmp = join(path, 'tmp', name);
      await writeFile(tmp, raw, { mode: 0o600 });
      await chown(tmp, owner.uid, owner.gid);
      await rename(tmp, join(path, 'new', name));
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}
