/**
 * The header-only parse gives exactly the header fields of the full parse, for every message of
 * the shared corpus (MIME edge cases, charsets, malformed mail), and never a body.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerBlock, parseHeaders, parseMessage, type ParseLimits } from '../../../src/core/parse.js';
import { tempDir } from '../../helpers/app.js';
import { CORPUS, manifest } from './classify/corpus.js';

const limits: ParseLimits = {
  inlineAttachmentMax: 256 * 1024,
  attachmentDir: tempDir(),
  maxHeadSize: 1024 * 1024,
  maxParts: 1000,
  maxHtmlLength: 2_000_000,
};

describe('headerBlock', () => {
  it('ends after the first empty line, with CRLF, LF or mixed endings', () => {
    const cases: Array<[string, string]> = [
      ['A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore', 'A: 1\r\nB: 2\r\n\r\n'],
      ['A: 1\nB: 2\n\nbody\n', 'A: 1\nB: 2\n\n'],
      ['A: 1\r\nB: 2\n\r\nbody', 'A: 1\r\nB: 2\n\r\n'],
      ['A: 1\r\n folded\r\n\r\n', 'A: 1\r\n folded\r\n\r\n'],
      ['A: 1\r\nB: 2\r\n', 'A: 1\r\nB: 2\r\n'],
      ['', ''],
    ];
    for (const [raw, head] of cases) expect(headerBlock(Buffer.from(raw)).toString()).toBe(head);
  });

  it('is a view on the message bytes, not a copy', () => {
    const raw = Buffer.from('A: 1\r\n\r\nbody');
    const head = headerBlock(raw);
    expect(head.buffer).toBe(raw.buffer);
  });
});

describe('parseHeaders', () => {
  const files = manifest()
    .map((r) => r.path)
    .filter((p) => !p.endsWith('.md') && !p.endsWith('.tsv') && !p.endsWith('.json'));

  it(`matches the full parse's header fields on every corpus message (${files.length} files)`, async () => {
    let compared = 0;
    for (const rel of files) {
      const raw = readFileSync(path.join(CORPUS, rel));
      const full = await parseMessage(raw, limits, `f${compared}`).catch(() => null);
      if (!full) continue; // over a hard limit: the full parse refuses it, the pipeline quarantines
      const head = await parseHeaders(raw, limits, `h${compared}`);
      const pick = (p: typeof full) => ({
        from: p.from,
        to: p.to,
        cc: p.cc,
        replyTo: p.replyTo,
        subject: p.subject,
        date: p.date,
        messageId: p.messageId,
        inReplyTo: p.inReplyTo,
        references: p.references,
        headers: [...p.headers],
      });
      expect(pick(head), rel).toEqual(pick(full));
      expect(head.text, rel).toBeNull();
      expect(head.html, rel).toBeNull();
      expect(head.attachments, rel).toEqual([]);
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  }, 120_000);
});

describe('parse dates', () => {
  it('gives null, never "now", for a missing or unparseable Date header', async () => {
    const msg = (date: string) => Buffer.from(`${date}Subject: x\r\n\r\nbody\r\n`);
    for (const p of [parseMessage, parseHeaders]) {
      expect((await p(msg(''), limits, 'd1')).date).toBeNull();
      expect((await p(msg('Date: Thu, 9 Apr 2006 23:34:45 JST\r\n'), limits, 'd2')).date).toBeNull();
      expect((await p(msg('Date: Thu, 09 Apr 2006 23:34:45 +0900\r\n'), limits, 'd3')).date).toBe(
        '2006-04-09T14:34:45.000Z',
      );
    }
  });
});
