/**
 * Every file of the shared corpus goes through replay: each ends delivered, dead with a reason, or
 * skipped as a duplicate of another corpus file; the bytes the handler gets are the input bytes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Handler } from '../../src/handlers/types.js';
import { replay, replayItems } from '../../src/cli/replay.js';
import { CORPUS, tempDir, testApp } from '../helpers/app.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('replay of the whole corpus', () => {
  it(
    'handles every message once, byte-identical, without a crash or hang',
    { timeout: 300_000 },
    async () => {
      const manifest = readFileSync(join(CORPUS, 'manifest.tsv'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t'))
        .filter(([path]) => !path!.endsWith('.tsv'));
      const files = manifest.map(([path]) => join(CORPUS, path!));
      const expectedSha = new Map(manifest.map(([path, , digest]) => [join(CORPUS, path!), digest!]));
      const seenRaw = new Map<number, string>();
      const capture: Handler = {
        name: 'capture',
        async handle(msg) {
          seenRaw.set(msg.id, sha(msg.raw));
        },
      };
      const dir = tempDir();
      const app = testApp(
        dir,
        {
          routes: [{ name: 'all', handlers: ['capture'] }],
          handlers: { capture: { file: { path: join(dir, 'x') } } },
        },
        new Map([['capture', capture]]),
      );
      try {
        app.pipeline.start();
        const items = await replayItems(files);
        expect(items.length).toBe(files.length);
        const rep = await replay(app, items);
        expect(rep.added).toBe(files.length);
        await app.pipeline.idle();
        const c = app.store.counts().byStatus;
        const bySha = new Map<string, number>();
        let delivered = 0;
        for (const f of files) {
          const row = app.store.getByPosition(`replay:${f}`)!;
          expect(row.sha256, f).toBe(expectedSha.get(f));
          if (row.status === 'delivered') {
            delivered++;
            expect(seenRaw.get(row.id), f).toBe(row.sha256);
            expect(bySha.has(row.sha256), `${f} delivered twice`).toBe(false);
            bySha.set(row.sha256, row.id);
          } else if (row.status === 'skipped') {
            expect(row.duplicateOf, f).not.toBeNull();
            expect(app.store.get(row.duplicateOf!)?.sha256).toBe(row.sha256);
          } else {
            expect(row.status, f).toBe('dead');
            expect(row.reason, f).toBeTruthy();
          }
        }
        const distinct = new Set(manifest.map((m) => m[2])).size;
        console.log(`corpus replay: ${files.length} files, ${distinct} distinct, ${JSON.stringify(c)}`);
        // every distinct content was delivered exactly once (none dead in this corpus)
        expect(delivered + (c.dead ?? 0)).toBe(distinct);
        expect(seenRaw.size).toBe(delivered);
      } finally {
        await app.close();
      }
    },
  );
});
