// Hostile folder names never leave the export directory, and distinct names stay distinct.
import { resolve, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignFolderPath, assertRelativeSafe, encodeSegment, folderToRelPath, insideRoot, MAX_SEGMENT_BYTES } from '../../../src/export/safe-path.js'; // prettier-ignore

const ROOT = '/srv/export';

function isInside(rel: string): boolean {
  const full = insideRoot(ROOT, rel);
  return full.startsWith(resolve(ROOT) + sep);
}

describe('folder names → safe relative paths', () => {
  const hostile = [
    '../../etc',
    '..',
    '.',
    '/abs',
    '/',
    'a/../../b',
    'a/./b',
    'a//b',
    '\\\\server\\share',
    'C:\\Windows',
    'nul\u0000byte',
    'ctl\u0001\u001f\u007f',
    'x'.repeat(5000),
    'é'.repeat(400),
    '\ud800lone',
    'cur',
    'INBOX/new',
    'Tmp',
    'Archive.mbox',
    'a.eml',
    '.hidden',
    'trailing. ',
    '%2E%2E',
    '',
  ];

  it.each(hostile)('keeps %j inside the root', (name) => {
    for (const delim of ['/', '.', null]) {
      const rel = folderToRelPath(name, delim);
      expect(() => assertRelativeSafe(rel)).not.toThrow();
      expect(isInside(rel)).toBe(true);
      for (const seg of rel.split('/')) {
        expect(seg).not.toMatch(/^\.|[\u0000-\u001f\u007f\\:]/u);
        expect(Buffer.byteLength(seg)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
        expect(['cur', 'new', 'tmp']).not.toContain(seg.toLowerCase());
        expect(seg).not.toMatch(/\.(mbox|eml)$/iu);
      }
    }
  });

  it('maps the hierarchy to directories', () => {
    expect(folderToRelPath('INBOX/Sub/Deep', '/')).toBe('INBOX/Sub/Deep');
    expect(folderToRelPath('INBOX.Sub', '.')).toBe('INBOX/Sub');
    expect(folderToRelPath('../../etc', '/')).toBe('%2E%2E/%2E%2E/etc');
    expect(folderToRelPath('/abs', '/')).toBe('%empty/abs');
  });

  it('percent-encoding is injective (distinct segments → distinct names)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        fc.pre(a !== b && !/[\ud800-\udfff]/u.test(a + b));
        expect(encodeSegment(a)).not.toBe(encodeSegment(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('long names are cut with a hash so they stay distinct', () => {
    const a = encodeSegment(`${'x'.repeat(300)}a`);
    const b = encodeSegment(`${'x'.repeat(300)}b`);
    expect(a).not.toBe(b);
    expect(a).toMatch(/~[0-9a-f]{16}$/u);
  });

  it('arbitrary strings never escape', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, unit: 'binary' }),
        fc.constantFrom('/', '.', null),
        (name, delim) => {
          expect(isInside(folderToRelPath(name, delim))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('insideRoot rejects escapes', () => {
    for (const bad of ['../x', '/etc/passwd', 'a/../../x', '', 'a//b', 'a\\b', 'a\u0000b']) {
      expect(() => insideRoot(ROOT, bad)).toThrow();
    }
  });

  it('assigns unique paths to names that differ only by case', () => {
    const taken = new Map<string, string>();
    expect(assignFolderPath('Work', '/', taken)).toBe('Work');
    expect(assignFolderPath('work', '/', taken)).toBe('work~2');
    expect(assignFolderPath('Work', '/', taken)).toBe('Work');
  });
});
