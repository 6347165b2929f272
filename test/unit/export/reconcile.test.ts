// Reconcile after a crash: torn manifest tail cut, records without bytes dropped, orphan and temp
// files removed, mbox cut back to its last recorded entry; afterwards verify passes.
import { mkdtemp, readFile, readdir, rm, stat, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mboxEntry } from '../../../src/core/mbox.js';
import { MANIFEST, ManifestWriter, readManifest } from '../../../src/export/manifest.js';
import { reconcile, verifyExport } from '../../../src/export/reconcile.js';
import { Sink } from '../../../src/export/sink.js';

let out: string;
beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), 'mi-reconcile-'));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const raw = (i: number): Buffer =>
  Buffer.from(`Message-ID: <r${i}@t>\r\nSubject: ${i}\r\n\r\nFrom here ${i}\r\n`);

async function write(format: 'maildir' | 'mbox', n: number): Promise<void> {
  const manifest = new ManifestWriter(join(out, MANIFEST));
  const sink = new Sink({ out, format, manifest, log: pino({ level: 'silent' }) });
  for (let i = 0; i < n; i++) {
    await sink.add({ folder: 'INBOX', folderPath: 'INBOX', uidValidity: '5', uid: i + 1, flags: ['\\Seen'], internalDate: new Date(1e12 + i * 1000), raw: raw(i) }); // prettier-ignore
  }
  await sink.close();
  await manifest.close();
}

describe('reconcile', () => {
  it('repairs a maildir export after a crash', async () => {
    await write('maildir', 5);
    const cur = join(out, 'folders', 'INBOX', 'cur');
    const files = (await readdir(cur)).sort();
    expect(files.length).toBe(5);
    expect((await stat(join(cur, files[0]!))).mtime.getTime()).toBe(1e12);
    await rm(join(cur, files[1]!)); // record whose file vanished (power loss before the checkpoint)
    await writeFile(join(cur, '1.U5_99.mailintake,S=3:2,'), 'abc'); // renamed, line never appended
    await writeFile(join(cur, '.tmp-export-1-2'), 'partial'); // killed mid-write
    await appendFile(join(out, MANIFEST), '{"t":"msg","folder":"IN'); // torn line
    const { manifest, report } = await reconcile(out, { rehash: true });
    expect(report).toEqual({ records: 4, dropped: 1, orphansRemoved: 2, tornTail: true });
    expect(manifest.messages.size).toBe(4);
    expect((await readdir(cur)).length).toBe(4);
    expect((await readManifest(join(out, MANIFEST))).messages.size).toBe(4);
    expect((await verifyExport(out)).mismatches).toEqual([]);
  });

  it('cuts an mbox back to its last recorded entry', async () => {
    await write('mbox', 3);
    const file = join(out, 'folders', 'INBOX.mbox');
    const good = (await stat(file)).size;
    await appendFile(file, mboxEntry(raw(9)).subarray(0, 20));
    const { report } = await reconcile(out, { rehash: false });
    expect(report.orphansRemoved).toBe(1);
    expect((await stat(file)).size).toBe(good);
    expect((await readFile(file)).toString()).toContain('>From here 0');
    expect((await verifyExport(out)).mismatches).toEqual([]);
  });

  it('drops records whose bytes changed when re-hashing', async () => {
    await write('maildir', 2);
    const m = await readManifest(join(out, MANIFEST));
    const victim = [...m.messages.values()][0]!;
    const buf = await readFile(join(out, victim.file));
    buf[buf.length - 3] = (buf[buf.length - 3] ?? 0) ^ 1;
    await writeFile(join(out, victim.file), buf);
    expect((await reconcile(out, { rehash: false })).report.dropped).toBe(0);
    expect((await reconcile(out, { rehash: true })).report.dropped).toBe(1);
  });
});
