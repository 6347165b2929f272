// No path traversal from names in mail or on the server: attachment filenames (`../../etc/passwd`,
// absolute, backslashes, RFC 2231/encoded-word forms, NUL) never choose where a file lands: large
// attachments are written under <attachmentDir>/<key>/ with a numeric name, and nothing is created
// anywhere else. Export folder names (src/export/safe-path.ts, when present) stay inside the root.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PARSE_LIMITS, parseMessage } from '../../src/core/parse.js';
import { tempDir } from '../helpers/app.js';

const NAMES = [
  'filename="../../etc/passwd"',
  'filename="../../../../../../tmp/evil.sh"',
  'filename="/etc/passwd"',
  'filename="..\\\\..\\\\windows\\\\evil.bat"',
  "filename*=utf-8''..%2F..%2Fetc%2Fpasswd",
  'filename="=?utf-8?Q?=2E=2E=2F=2E=2E=2Fetc=2Fpasswd?="',
  'filename="=?utf-8?B?Li4vLi4vZXRjL3Bhc3N3ZA==?="',
  'filename="evil\u0000.txt/../../x"',
  'filename="a/../../../b.eml"',
];

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? [p + sep, ...walk(p)] : [p];
  });
}

function message(names: string[], bytes: number): Buffer {
  const body = Buffer.alloc(bytes, 0x41).toString('base64').replace(/.{76}/g, '$&\r\n');
  const parts = names.map(
    (n) =>
      `--b\r\nContent-Type: application/octet-stream; name="x"\r\nContent-Disposition: attachment; ${n}\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n`,
  );
  return Buffer.from(
    `From: a@b.test\r\nTo: c@d.test\r\nSubject: traversal\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`,
    'latin1',
  );
}

describe('attachment names never become paths', () => {
  it('large attachments land under <attachmentDir>/<key>/ only; small ones stay in memory', async () => {
    const root = tempDir('mi-sec-path-');
    // deep enough that "../../" from any level would still be inside root, so a leak is visible
    const attachmentDir = join(root, 'a', 'b', 'c', 'att');
    const limits = { ...DEFAULT_PARSE_LIMITS, inlineAttachmentMax: 1024, attachmentDir };
    const big = await parseMessage(message(NAMES, 4096), limits, 'key1');
    const small = await parseMessage(message(NAMES, 100), limits, 'key2');
    expect(big.attachments).toHaveLength(NAMES.length);
    expect(small.attachments.every((a) => a.path === null && a.content !== null)).toBe(true);
    const files = walk(root).filter((p) => !p.endsWith(sep));
    expect(files).toHaveLength(NAMES.length);
    for (const f of files) {
      const rel = relative(join(attachmentDir, 'key1'), f);
      expect(rel.startsWith('..') || rel.includes(sep), `${f} escaped`).toBe(false);
      expect(rel).toMatch(/^\d+\.[a-z0-9]{1,8}$/);
    }
    expect(big.attachments.map((a) => a.path).sort()).toEqual(files.sort());
    // the original names are kept as data (for the payload), never as paths
    expect(big.attachments.some((a) => a.filename?.includes('..'))).toBe(true);
  });
});

const SAFE_PATH = resolve(import.meta.dirname, '../../src/export/safe-path.ts');

describe.skipIf(!existsSync(SAFE_PATH))('export: server folder names never leave the export root', () => {
  it('hostile IMAP folder names map inside the root', async () => {
    const mod = (await import(SAFE_PATH)) as {
      folderToRelPath(name: string, delimiter: string | null | undefined): string;
    };
    const root = resolve('/srv/export-root');
    const hostile: Array<[string, string | null]> = [
      ['../../etc', '/'],
      ['..', '/'],
      ['.', '/'],
      ['/etc/passwd', '/'],
      ['a/../../..', '/'],
      ['..\\..\\windows', '\\'],
      ['..\\..\\windows', '/'],
      ['INBOX.../...', '.'],
      ['..', '.'],
      ['x\u0000/../y', '/'],
      ['cur', '/'],
      ['', '/'],
      ['a'.repeat(5000), null],
      [Array.from({ length: 100 }, () => '..').join('/'), '/'],
    ];
    for (const [name, delim] of hostile) {
      const rel = mod.folderToRelPath(name, delim);
      const abs = resolve(root, rel);
      expect(abs.startsWith(root + sep), `${JSON.stringify(name)} → ${rel}`).toBe(true);
      expect(
        rel.split(/[\\/]/).some((s) => s === '..' || s === '.' || s === ''),
        rel,
      ).toBe(false);
      expect(rel).not.toContain('\u0000');
    }
  });
});
