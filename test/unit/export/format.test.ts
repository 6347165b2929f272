// Pure parts of the export: Maildir info letters, file names, manifest parsing, progress lines.
import { describe, expect, it } from 'vitest';
import { keptFlags, maildirInfo, messageFile } from '../../../src/export/layout.js';
import { parseManifest, renderManifest, type MessageRecord } from '../../../src/export/manifest.js';
import { renderProgress, formatDuration } from '../../../src/export/progress.js';
import { slices, remapIndex } from '../../../src/export/imap-export.js';
import { targetName, groupByFolder } from '../../../src/export/restore.js';

const rec = (o: Partial<MessageRecord>): MessageRecord => ({
  t: 'msg',
  folder: 'INBOX',
  uidValidity: '7',
  uid: 1,
  messageId: 'a@b',
  sha256: 'f'.repeat(64),
  size: 10,
  flags: [],
  internalDate: null,
  file: 'folders/INBOX/cur/x',
  ...o,
});

describe('layout', () => {
  it('maildir info letters are sorted and keywords dropped', () => {
    expect(maildirInfo(['\\Seen', '\\Answered', '\\Flagged', '$Label', '\\Draft', '\\Deleted', '$Forwarded'])).toBe(':2,DFPRST'); // prettier-ignore
    expect(maildirInfo([])).toBe(':2,');
  });
  it('drops \\Recent', () => {
    expect(keptFlags(['\\Recent', '\\Seen'])).toEqual(['\\Seen']);
  });
  it('names files per format', () => {
    const meta = { size: 5, flags: ['\\Seen'], internalDate: new Date(1_700_000_000_000) };
    expect(messageFile('maildir', 'A/B', { uidValidity: '9', uid: 3 }, meta).file).toBe('folders/A/B/cur/1700000000.U9_3.mailintake,S=5:2,S'); // prettier-ignore
    expect(messageFile('eml', 'A', { uidValidity: '9', uid: 3 }, meta).file).toBe('folders/A/9-3.eml');
    expect(messageFile('mbox', 'A/B', { uidValidity: '9', uid: 3 }, meta).file).toBe('folders/A/B.mbox');
    expect(messageFile('eml', 'INBOX', { uidValidity: null, uid: null, uidl: '../x_1' }, meta).file).toBe('folders/INBOX/P%2E.%2Fx_1.eml'); // prettier-ignore
  });
});

describe('manifest', () => {
  it('last line per storage key wins and a torn tail is ignored', () => {
    const a = rec({ uid: 1 });
    const b = rec({ uid: 2, uidValidity: '8' });
    const text = `${JSON.stringify(a)}\n${JSON.stringify(b)}\n{"t":"msg","fol`;
    const m = parseManifest(Buffer.from(text));
    expect(m.messages.size).toBe(1);
    expect([...m.messages.values()][0]?.uid).toBe(2);
    expect(m.goodBytes).toBe(text.lastIndexOf('\n') + 1);
    expect(m.badLines).toBe(0);
    expect(parseManifest(Buffer.from(renderManifest(m))).messages.size).toBe(1);
  });
  it('counts garbage lines', () => {
    expect(parseManifest(Buffer.from('nope\n{"t":"x"}\n')).badLines).toBe(2);
  });
});

describe('planning helpers', () => {
  it('slices contiguously without empties', () => {
    expect(slices([1, 2, 3, 4, 5], 2)).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    expect(slices([1], 4)).toEqual([[1]]);
    expect(slices([], 4)).toEqual([]);
  });
  it('indexes other-UIDVALIDITY records by content key', () => {
    const idx = remapIndex([rec({ uidValidity: '1' }), rec({ uidValidity: '1', uid: 2 }), rec({ uidValidity: '2' })], 'INBOX', '2'); // prettier-ignore
    expect(idx.get(`a@b|${'f'.repeat(64)}`)?.length).toBe(2);
  });
  it('restore maps hierarchy delimiters and keeps UID order', () => {
    expect(targetName('A.B', '.', '/')).toBe('A/B');
    expect(targetName('inbox', '.', '/')).toBe('INBOX');
    const g = groupByFolder([rec({ uid: 5 }), rec({ uid: 2 })]);
    expect(g.get('INBOX')?.map((r) => r.uid)).toEqual([2, 5]);
  });
});

describe('progress', () => {
  it('renders messages, bytes, rate and ETA within the width', () => {
    const line = renderProgress({ done: 50, total: 100, bytes: 5_000_000, totalBytes: 10_000_000, elapsedMs: 10_000 }, 'export', 100); // prettier-ignore
    expect(line).toContain('50/100 msgs');
    expect(line).toContain('5.0 MB');
    expect(line).toContain('5/s');
    expect(line).toContain('ETA 00:10');
    expect(renderProgress({ done: 1, total: 2, bytes: 1, totalBytes: 2, elapsedMs: 1 }, 'x', 40).length).toBeLessThanOrEqual(40); // prettier-ignore
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});
