// Export/restore against the harness Dovecot: corpus round trip (export → restore into an empty
// account → export again gives the same manifest modulo UIDs and the same bytes), server flags
// untouched by export, repeatable restore, incremental runs, UIDVALIDITY reset re-mapped without
// duplicates, mbox and eml layouts, POP3 (never DELE).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { SourceConfig } from '../../src/config/schema.js';
import { splitMbox } from '../../src/core/mbox.js';
import { runExport, type ExportOptions } from '../../src/export/export.js';
import { MANIFEST, readManifest, type MessageRecord } from '../../src/export/manifest.js';
import { verifyExport } from '../../src/export/reconcile.js';
import { runRestore } from '../../src/export/restore.js';
import { startDovecot, uniqueUser, type Dovecot, type DovecotUser } from '../harness/dovecot.js';

const CORPUS = '/work/shared/corpus';
const log = pino({ level: 'silent' });
let dc: Dovecot;
let work: string;

beforeAll(async () => {
  dc = await startDovecot();
  work = await mkdtemp(join(tmpdir(), 'mi-export-'));
});
afterAll(async () => {
  await dc.close();
  await rm(work, { recursive: true, force: true });
});

async function user(): Promise<DovecotUser> {
  const u = uniqueUser('exp');
  await dc.addUser(u.user, u.password);
  return u;
}

function source(u: DovecotUser, kind: 'imap' | 'pop3' = 'imap'): SourceConfig {
  const common = { host: '127.0.0.1', secure: false, starttls: true, user: u.user, password: u.password, tls: { caFile: dc.caFile, servername: 'localhost' } }; // prettier-ignore
  const src = kind === 'imap' ? { imap: { ...common, port: dc.ports.imap } } : { pop3: { ...common, port: dc.ports.pop3 } }; // prettier-ignore
  const cfg = validateConfig({ log: { level: 'silent' }, routes: [{ name: 'all', action: 'drop' }], sources: { s: src } }); // prettier-ignore
  return cfg.sources.s!;
}

async function exportTo(u: DovecotUser, out: string, o: Partial<ExportOptions> = {}) {
  return runExport({
    sourceName: 's',
    source: source(u),
    out,
    format: 'maildir',
    mailboxes: null,
    log,
    ...o,
  });
}

/** Up to `n` corpus files per directory that IMAP can carry (no NUL, has a header block, < 1 MB). */
function corpus(dir: string, n: number): Buffer[] {
  const files = readdirSync(join(CORPUS, dir), { recursive: true, encoding: 'utf8' }).sort();
  const out: Buffer[] = [];
  for (const f of files) {
    const p = join(CORPUS, dir, f);
    if (!statSync(p).isFile() || statSync(p).size > 1_000_000 || /\.(tsv|json|txt|md)$/.test(f)) continue;
    const raw = readFileSync(p);
    if (raw.includes(0) || !/\r?\n\r?\n/.test(raw.toString('latin1')) || !/^[\x21-\x7e]+:/m.test(raw.toString('latin1'))) continue; // prettier-ignore
    out.push(raw);
    if (out.length >= n) break;
  }
  return out;
}

function msg(tag: string, i: number): Buffer {
  return Buffer.from(`Message-ID: <${tag}-${i}@test>\r\nFrom: a@example.com\r\nSubject: ${tag} ${i}\r\n\r\nFrom the body ${i}\r\n>From quoted\r\n`); // prettier-ignore
}

/** Manifest records without position (UIDVALIDITY/UID/file), sorted: comparable across accounts. */
async function contentView(out: string): Promise<string[]> {
  const m = await readManifest(join(out, MANIFEST));
  return [...m.messages.values()]
    .map((r: MessageRecord) =>
      JSON.stringify([r.folder, r.messageId, r.sha256, r.size, [...r.flags].sort(), r.internalDate]),
    ) // prettier-ignore
    .sort();
}

async function fileCount(dir: string): Promise<number> {
  const ents = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return ents.filter((e) => e.isFile()).length;
}

describe('export / restore', () => {
  it('round-trips a multi-folder corpus mailbox byte-exactly and leaves server flags alone', async () => {
    const a = await user();
    const parsing = corpus('parsing', 100);
    const bounces = corpus('bounces', 100);
    expect(parsing.length + bounces.length).toBeGreaterThanOrEqual(150);
    await dc.saveMany(a.user, 'INBOX', parsing);
    await dc.saveMany(a.user, 'Bounces', bounces);
    for (let i = 0; i < 6; i++) {
      const flags = [['\\Seen'], ['\\Flagged', '\\Answered'], ['$Label1'], [], ['\\Seen', '\\Draft'], ['\\Deleted']][i]!; // prettier-ignore
      await dc.save(a.user, 'Archive.2024', msg('arch', i), { flags });
    }
    const folders = ['INBOX', 'Bounces', 'Archive.2024'];
    const before = await Promise.all(folders.map((f) => dc.list(a.user, f)));

    const out1 = join(work, 'rt-1');
    const rep = await exportTo(a, out1);
    expect(rep.errors).toEqual([]);
    expect(rep.written).toBe(parsing.length + bounces.length + 6);
    const after = await Promise.all(folders.map((f) => dc.list(a.user, f)));
    expect(after).toEqual(before); // EXAMINE + BODY.PEEK: no \Seen, nothing else changed
    expect((await verifyExport(out1)).mismatches).toEqual([]);

    // Maildir layout: hierarchy as directories, flags in the info suffix, mtime = internal date.
    const m1 = await readManifest(join(out1, MANIFEST));
    const flagged = [...m1.messages.values()].find((r) => r.flags.includes('\\Flagged'))!;
    expect(flagged.file).toMatch(/^folders\/Archive\/2024\/cur\/\d+\.U\d+_\d+\.mailintake,S=\d+:2,FR$/);
    expect((await stat(join(out1, flagged.file))).mtime.toISOString()).toBe(flagged.internalDate);
    expect([...m1.folders.values()].map((f) => f.path).sort()).toEqual(['Archive/2024', 'Bounces', 'INBOX']);

    const b = await user();
    const r1 = await runRestore({ imap: source(b).imap!, from: out1, log });
    expect(r1.errors).toEqual([]);
    expect(r1.appended).toBe(rep.written);
    const r2 = await runRestore({ imap: source(b).imap!, from: out1, log });
    expect(r2.appended).toBe(0);
    expect(r2.skipped).toBe(rep.written);

    const out2 = join(work, 'rt-2');
    expect((await exportTo(b, out2)).errors).toEqual([]);
    expect(await contentView(out2)).toEqual(await contentView(out1));
    // Same bytes on both sides, file by file.
    const m2 = await readManifest(join(out2, MANIFEST));
    const bySha = new Map([...m2.messages.values()].map((r) => [r.sha256, r.file]));
    for (const r of m1.messages.values()) {
      const other = bySha.get(r.sha256);
      expect(other).toBeDefined();
      expect((await readFile(join(out2, other!))).equals(await readFile(join(out1, r.file)))).toBe(true);
    }
  });

  it('is incremental and re-maps a UIDVALIDITY reset without duplicates', async () => {
    const u = await user();
    await dc.saveMany(
      u.user,
      'INBOX',
      Array.from({ length: 20 }, (_, i) => msg('inc', i)),
    );
    const out = join(work, 'inc');
    expect((await exportTo(u, out)).written).toBe(20);
    expect((await exportTo(u, out)).written).toBe(0);
    await dc.saveMany(u.user, 'INBOX', [msg('inc', 20), msg('inc', 21)]);
    expect((await exportTo(u, out)).written).toBe(2);
    const uv = await dc.resetUidValidity(u.user, 'INBOX');
    const rep = await exportTo(u, out);
    expect(rep.written).toBe(0);
    expect(rep.remapped).toBe(22);
    const m = await readManifest(join(out, MANIFEST));
    expect(m.messages.size).toBe(22);
    expect([...m.messages.values()].every((r) => r.uidValidity === String(uv))).toBe(true);
    expect(await fileCount(join(out, 'folders', 'INBOX', 'cur'))).toBe(22);
    expect((await verifyExport(out)).mismatches).toEqual([]);
    const state = JSON.parse(await readFile(join(out, 'state.json'), 'utf8')) as { clean: boolean; folders: Record<string, { uidValidity: string; lastUid: number }> }; // prettier-ignore
    expect(state.clean).toBe(true);
    expect(state.folders.INBOX).toMatchObject({ uidValidity: String(uv), lastUid: 22 });
  });

  it('writes mboxrd and eml layouts that verify and restore', async () => {
    const u = await user();
    const raws = Array.from({ length: 15 }, (_, i) => msg('fmt', i));
    await dc.saveMany(u.user, 'INBOX', raws);
    await dc.save(u.user, 'Sub.Deeper', msg('fmt', 99), { flags: ['\\Seen'] });
    const mbox = join(work, 'mbox');
    expect((await exportTo(u, mbox, { format: 'mbox' })).written).toBe(16);
    expect((await exportTo(u, mbox, { format: 'mbox' })).written).toBe(0);
    const inbox = splitMbox(await readFile(join(mbox, 'folders', 'INBOX.mbox')));
    expect(inbox.length).toBe(15);
    expect(inbox[0]!.toString()).toContain('\r\n>From quoted');
    expect(await readFile(join(mbox, 'folders', 'Sub', 'Deeper.mbox'))).toBeDefined();
    expect((await verifyExport(mbox)).mismatches).toEqual([]);
    const eml = join(work, 'eml');
    expect((await exportTo(u, eml, { format: 'eml' })).written).toBe(16);
    expect((await readdir(join(eml, 'folders', 'INBOX'))).filter((f) => f.endsWith('.eml')).length).toBe(15);
    const t = await user();
    expect((await runRestore({ imap: source(t).imap!, from: mbox, log })).appended).toBe(16);
    expect((await runRestore({ imap: source(t).imap!, from: eml, log })).appended).toBe(0);
    expect((await dc.list(t.user, 'Sub.Deeper'))[0]?.flags).toContain('\\Seen');
  });

  it('refuses to mix layouts in one directory', async () => {
    const u = await user();
    await dc.save(u.user, 'INBOX', msg('mix', 0));
    const out = join(work, 'mix');
    await exportTo(u, out);
    await expect(exportTo(u, out, { format: 'mbox' })).rejects.toThrow(/maildir export/);
  });

  it('exports POP3 by UIDL and never deletes', async () => {
    const u = await user();
    await dc.saveMany(
      u.user,
      'INBOX',
      Array.from({ length: 12 }, (_, i) => msg('pop', i)),
    );
    const out = join(work, 'pop3');
    const opts = { source: source(u, 'pop3'), format: 'eml' as const };
    expect((await exportTo(u, out, opts)).written).toBe(12);
    expect((await dc.list(u.user, 'INBOX')).length).toBe(12);
    await dc.save(u.user, 'INBOX', msg('pop', 12));
    expect((await exportTo(u, out, opts)).written).toBe(1);
    const m = await readManifest(join(out, MANIFEST));
    expect(new Set([...m.messages.values()].map((r) => r.uidl)).size).toBe(13);
    expect((await verifyExport(out)).mismatches).toEqual([]);
  });

  it('--verify reports a tampered file', async () => {
    const u = await user();
    await dc.saveMany(u.user, 'INBOX', [msg('tamper', 0), msg('tamper', 1)]);
    const out = join(work, 'tamper');
    await exportTo(u, out, { format: 'eml' });
    const m = await readManifest(join(out, MANIFEST));
    const victim = [...m.messages.values()][0]!;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(out, victim.file), 'changed');
    const v = await verifyExport(out);
    expect(v.mismatches.map((x) => x.file)).toEqual([victim.file]);
  });
});
