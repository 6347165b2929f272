// The export's per-message key and durability helpers: messageKey() gives exactly contentKeyOf()'s
// Message-ID and SHA-256 (it only looks at less of the message), syncFilesystems() makes a
// directory's filesystem durable in one call (syncfs through `sync -f` on Linux), and the sink's
// writer thread records exactly what the event-loop path records, and nothing it failed to write.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { contentKeyOf, sha256 } from '../../../src/core/message.js';
import { syncFilesystems } from '../../../src/export/files.js';
import { MANIFEST, ManifestWriter, readManifest, type MessageRecord } from '../../../src/export/manifest.js';
import { verifyExport } from '../../../src/export/reconcile.js';
import { Sink, type IncomingMessage } from '../../../src/export/sink.js';
import { messageKey, runWriteJob } from '../../../src/export/write-job.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mi-write-job-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cases: Record<string, string> = {
  crlf: 'Message-ID: <A@Example.COM>\r\nSubject: x\r\n\r\nbody\r\n',
  'lf only': 'Message-ID: <b@example.com>\nSubject: x\n\nbody\n',
  'cr only': 'Message-ID: <c@example.com>\rSubject: x\r\rbody\r',
  'lf blank line before a crlf one': 'Subject: x\n\nMessage-ID: <d@x>\r\n\r\nbody',
  'cr blank line before a crlf one': 'Subject: x\r\rMessage-ID: <e@x>\r\n\r\nbody',
  'message-id only after the blank line': 'Subject: x\r\n\r\nMessage-ID: <f@x>\r\n',
  'no blank line': 'Message-ID: <g@x>\r\nSubject: no body',
  'folded message-id': 'Message-ID:\r\n <h@Example.org>\r\nSubject: y\r\n\r\nb',
  'blank line at the very start': '\r\n\r\nMessage-ID: <i@x>\r\n',
  'no message-id': 'Subject: z\r\n\r\nMessage-ID: <j@x>\r\n\r\n',
  empty: '',
};

describe('sha256', () => {
  it("gives createHash's hex digest, of bytes and of a string's UTF-8 (Maildir names depend on it)", () => {
    for (const data of [Buffer.from([0xff, 0x00, 0xe9]), 'abc:all/md', 'grüße', '']) {
      expect(sha256(data)).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });
});

describe('messageKey', () => {
  for (const [name, text] of Object.entries(cases)) {
    it(`matches contentKeyOf: ${name}`, () => {
      const raw = Buffer.from(text, 'latin1');
      const want = contentKeyOf(raw);
      expect(messageKey(raw)).toEqual({ messageId: want.messageId, sha256: want.sha256 });
    });
  }

  it('matches contentKeyOf on a large message with binary bytes', () => {
    const body = Buffer.alloc(200_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 131) % 256;
    const raw = Buffer.concat([Buffer.from('Message-ID: <big@x>\r\n\r\n'), body]);
    const want = contentKeyOf(raw);
    expect(messageKey(raw)).toEqual({ messageId: want.messageId, sha256: want.sha256 });
  });
});

describe('runWriteJob', () => {
  it('writes the exact bytes with the mtime and returns the content key', async () => {
    const raw = Buffer.from('Message-ID: <w@x>\r\n\r\n\u00e9\u0000\r\n', 'latin1');
    const path = join(dir, 'sub', 'm.eml');
    const w = runWriteJob({ path, data: raw, mtimeMs: 1_000_000_000_000, fsync: true });
    const { readFile, stat, readdir } = await import('node:fs/promises');
    expect((await readFile(path)).equals(raw)).toBe(true);
    expect((await stat(path)).mtimeMs).toBe(1_000_000_000_000);
    expect(w).toEqual({ messageId: 'w@x', sha256: contentKeyOf(raw).sha256 });
    expect(await readdir(join(dir, 'sub'))).toEqual(['m.eml']);
  });
});

describe('syncFilesystems', () => {
  it('syncs the filesystem of the given directories (true when syncfs is available)', async () => {
    await writeFile(join(dir, 'f'), 'x');
    const ok = await syncFilesystems([dir, dir, join(dir, 'missing')]);
    expect(ok).toBe(process.platform === 'linux');
  });
});

describe('Sink with the writer thread', () => {
  const msg = (i: number, folderPath = 'INBOX'): IncomingMessage => ({
    folder: 'INBOX',
    folderPath,
    uidValidity: '7',
    uid: i + 1,
    flags: [],
    internalDate: new Date(1e12 + i * 1000),
    raw: Buffer.from(`Message-ID: <t${i}@x>\r\n\r\n${'b'.repeat(5000 + i)}\r\n`),
  });

  it('writes files and manifest lines that verify, and the same as on the event loop', async () => {
    const run = async (sub: string, writerThread: boolean): Promise<MessageRecord[]> => {
      const out = join(dir, sub);
      await mkdir(out);
      const manifest = new ManifestWriter(join(out, MANIFEST));
      const sink = new Sink({ out, format: 'maildir', manifest, log: pino({ level: 'silent' }), writerThread }); // prettier-ignore
      for (let i = 0; i < 50; i++) await sink.add(msg(i));
      await sink.close();
      await manifest.close();
      expect(sink.stats).toEqual({ written: 50, remapped: 0, bytes: expect.any(Number) as number });
      expect(sink.folders.get('INBOX')).toEqual({ added: 50, lastUid: 50, uidValidity: '7' });
      expect((await verifyExport(out)).mismatches).toEqual([]);
      return [...(await readManifest(join(out, MANIFEST))).messages.values()];
    };
    expect(await run('thread', true)).toEqual(await run('loop', false));
  });

  it('fails the sink on a write error and records nothing it did not write', async () => {
    const out = join(dir, 'x');
    await mkdir(join(out, 'folders'), { recursive: true });
    await writeFile(join(out, 'folders', 'BAD'), 'a file where a folder should be');
    const manifest = new ManifestWriter(join(out, MANIFEST));
    const sink = new Sink({ out, format: 'eml', manifest, log: pino({ level: 'silent' }) });
    await sink.add(msg(0));
    await sink.add(msg(1, 'BAD'));
    const err = await (async () => {
      for (let i = 2; i < 40; i++) await sink.add(msg(i));
      await sink.drain();
    })().catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toMatch(/ENOTDIR|EEXIST/);
    await sink.close().catch(() => undefined);
    await manifest.close();
    const recs = [...(await readManifest(join(out, MANIFEST))).messages.values()];
    expect(recs.map((r) => r.uid)).toEqual([1]);
    expect(sink.stats.written).toBe(1);
  });
});
