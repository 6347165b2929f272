import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';
import { CORPUS, readCorpus } from './corpus.js';

function emlFiles(dir: string): string[] {
  return readdirSync(path.join(CORPUS, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.eml'))
    .map((e) => path.relative(CORPUS, path.join(e.parentPath, e.name)))
    .sort();
}

describe('corpus autoreplies/', () => {
  const files = emlFiles('autoreplies');

  it('has the 8 RFC 3834 samples', () => {
    expect(files).toHaveLength(8);
  });

  it.each(files)('%s is an auto-reply and not a bounce', (file) => {
    const c = classify(readCorpus(file));
    expect(c.autoReply.autoReply).toBe(true);
    expect(c.autoReply.kind).toBe('vacation');
    expect(c.autoReply.reasons.length).toBeGreaterThan(0);
    expect(c.bounce.bounce).toBe(false);
  });
});
