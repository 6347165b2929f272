/** Maildir and file handlers: atomic delivery, byte-exact, hard link to the spool file or a copy. */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { linkTiming, writeFileAtomic } from '../../../src/handlers/atomic.js';
import { tempDir, testApp } from '../../helpers/app.js';

let app: App | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

const RAW = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from([0xff, 0x00, 0xe9, 0x0d, 0x0a])]);

async function deliver(handlers: Record<string, unknown>) {
  const dir = tempDir();
  app = testApp(dir, {
    routes: [{ name: 'all', handlers: Object.keys(handlers) }],
    handlers,
  });
  app.pipeline.start();
  const r = await app.intake.receive(RAW, {
    envelope: { mailFrom: null, rcptTo: [] },
    source: { kind: 'replay', source: 'replay', positionKey: 'm:1' },
  });
  await app.pipeline.idle({ retries: true });
  return { row: app.store.get(r.row.id)!, spool: statSync(r.row.spoolPath) };
}

describe('maildir handler', () => {
  it('delivers into new/ as a hard link to the spool file (same bytes, nothing written twice)', async () => {
    const md = join(tempDir(), 'md');
    const { row, spool } = await deliver({ md: { maildir: { path: md } } });
    expect(row.status).toBe('delivered');
    const [name] = readdirSync(join(md, 'new'));
    const f = join(md, 'new', name!);
    expect(readFileSync(f).equals(RAW)).toBe(true);
    expect(statSync(f).ino).toBe(spool.ino);
    expect(statSync(f).nlink).toBe(2);
    expect(name).toMatch(new RegExp(`,S=${RAW.length}$`));
    expect(readdirSync(join(md, 'tmp'))).toEqual([]);
  });

  it('writes a copy with hardlink: false; the file handler links its .eml too', async () => {
    const md = join(tempDir(), 'md');
    const out = join(tempDir(), 'out');
    const { spool } = await deliver({
      md: { maildir: { path: md, hardlink: false } },
      f: { file: { path: out } },
    });
    const [name] = readdirSync(join(md, 'new'));
    const copy = statSync(join(md, 'new', name!));
    expect(copy.ino).not.toBe(spool.ino);
    expect(readFileSync(join(md, 'new', name!)).equals(RAW)).toBe(true);
    const eml = readdirSync(out).find((n) => n.endsWith('.eml'))!;
    expect(statSync(join(out, eml)).ino).toBe(spool.ino);
    expect(readdirSync(out).filter((n) => n.endsWith('.json'))).toHaveLength(1);
  });
});

describe('writeFileAtomic', () => {
  it('falls back to writing the bytes when the link source is missing', async () => {
    const dir = tempDir();
    await writeFileAtomic(join(dir, 'a'), RAW, undefined, { linkFrom: join(dir, 'no-such-file') });
    expect(readFileSync(join(dir, 'a')).equals(RAW)).toBe(true);
    expect(readdirSync(dir)).toEqual(['a']);
  });

  it('replaces an existing file atomically (a retry rewrites the same name)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a'), 'old');
    await writeFileAtomic(join(dir, 'a'), RAW);
    expect(readFileSync(join(dir, 'a')).equals(RAW)).toBe(true);
  });

  it('links under the final name; a retry that finds its own earlier link there counts it as done', async () => {
    const dir = tempDir();
    const src = join(dir, 'spool.eml');
    writeFileSync(src, RAW);
    await writeFileAtomic(join(dir, 'new', 'm'), RAW, join(dir, 'tmp'), { linkFrom: src });
    expect(statSync(join(dir, 'new', 'm')).ino).toBe(statSync(src).ino);
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    await writeFileAtomic(join(dir, 'new', 'm'), RAW, join(dir, 'tmp'), { linkFrom: src });
    expect(readdirSync(join(dir, 'new'))).toEqual(['m']);
    expect(statSync(src).nlink).toBe(2);
  });

  it("links on the event loop until one link is slow, then on libuv's pool, the same way", async () => {
    const saved = { ...linkTiming };
    try {
      const dir = tempDir();
      const src = join(dir, 'spool.eml');
      writeFileSync(src, RAW);
      Object.assign(linkTiming, { sync: true, slowMs: 2000 });
      await writeFileAtomic(join(dir, 'new', 'a'), RAW, join(dir, 'tmp'), { linkFrom: src });
      expect(linkTiming.sync).toBe(true);
      linkTiming.slowMs = -1; // every link now counts as slow
      await writeFileAtomic(join(dir, 'new', 'b'), RAW, join(dir, 'tmp'), { linkFrom: src });
      expect(linkTiming.sync).toBe(false);
      await writeFileAtomic(join(dir, 'new', 'c'), RAW, join(dir, 'tmp'), { linkFrom: src });
      await writeFileAtomic(join(dir, 'new', 'c'), RAW, join(dir, 'tmp'), { linkFrom: src }); // EEXIST: done
      expect(readdirSync(join(dir, 'new')).sort()).toEqual(['a', 'b', 'c']);
      expect(statSync(src).nlink).toBe(4);
    } finally {
      Object.assign(linkTiming, saved);
    }
  });
});
