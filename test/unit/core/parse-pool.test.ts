import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classify } from '../../../src/core/classify/index.js';
import { classifyFailure } from '../../../src/core/errors.js';
import { parseMessage, DEFAULT_PARSE_LIMITS, type ParseLimits } from '../../../src/core/parse.js';
import { ParsePool } from '../../../src/core/parse-pool.js';

/**
 * The parse pool against main-thread parsing. Worker threads cannot load the .ts sources vitest
 * runs, so the pool here runs the built worker (`npm test` builds dist/ first).
 */
const workerUrl = new URL('../../../dist/core/parse-worker.js', import.meta.url);
const CORPUS = '/work/shared/corpus/parsing';

function corpusFiles(n: number): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(eml|msg|txt)$/i.test(e.name) && statSync(p).size < 2_000_000) out.push(p);
    }
  };
  walk(CORPUS);
  // Spread the picks over the whole corpus (every source directory), deterministically.
  const step = Math.max(1, Math.floor(out.length / n));
  return out.filter((_, i) => i % step === 0).slice(0, n);
}

const tmp = mkdtempSync(join(tmpdir(), 'mi-parse-pool-'));
const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, inlineAttachmentMax: 16 * 1024, attachmentDir: tmp };
const pools: ParsePool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CORPUS))('parse pool', () => {
  it('runs the built worker (npm run build)', () => {
    expect(existsSync(workerUrl)).toBe(true);
  });

  it('gives the same results as main-thread parse + classify on corpus files', async () => {
    const pool = new ParsePool({ size: 2, workerUrl });
    pools.push(pool);
    expect(pool.threaded).toBe(true);
    const files = corpusFiles(50);
    expect(files.length).toBeGreaterThanOrEqual(45);
    let buffers = 0;
    for (const [i, f] of files.entries()) {
      const raw = readFileSync(f);
      const key = `m${i}`;
      const want = { parsed: await parseMessage(raw, limits, key), classification: classify(raw) };
      const got = await pool.analyse({ raw, path: null, limits, key });
      expect(got, f).toEqual(want);
      expect(got.parsed.headers).toBeInstanceOf(Map);
      for (const a of got.parsed.attachments) {
        if (a.content) {
          expect(Buffer.isBuffer(a.content)).toBe(true);
          buffers++;
        }
      }
      // From the file, as for big messages.
      const fromPath = await pool.analyse({ raw, path: f, limits, key });
      expect(fromPath, f).toEqual(want);
    }
    expect(buffers).toBeGreaterThan(0);
    // Concurrent jobs spread over the workers come back to the right callers.
    const raws = files.slice(0, 20).map((f) => readFileSync(f));
    const all = await Promise.all(
      raws.map((raw, i) => pool.analyse({ raw, path: null, limits, key: `c${i}` })),
    );
    all.forEach((r, i) => expect(r.classification).toEqual(classify(raws[i]!)));
  });

  it('returns a parse failure as the same permanent error', async () => {
    const pool = new ParsePool({ size: 1, workerUrl });
    pools.push(pool);
    const raw = Buffer.from(`Subject: ${'x'.repeat(5000)}\r\nFrom: a@b.test\r\n\r\nbody\r\n`);
    const tight = { ...limits, maxHeadSize: 1000 };
    const local = await parseMessage(raw, tight, 'h').catch((e: unknown) => e);
    const remote = await pool.analyse({ raw, path: null, limits: tight, key: 'h' }).catch((e: unknown) => e);
    expect(classifyFailure(remote)).toEqual(classifyFailure(local));
    expect(classifyFailure(remote)).toMatchObject({ retryable: false, code: 'PARSE' });
  });

  it('rejects in-flight jobs as temporary when a worker dies, and recovers', async () => {
    const pool = new ParsePool({ size: 1, workerUrl, testHooks: true });
    pools.push(pool);
    const raw = Buffer.from('From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n');
    const input = { raw, path: null, limits, key: 'k' };
    expect((await pool.analyse(input)).parsed.subject).toBe('hi');
    const hung = pool.analyse(input, 'hang').catch((e: unknown) => e);
    const crashed = pool.analyse(input, 'exit').catch((e: unknown) => e);
    for (const err of [await hung, await crashed]) {
      expect(err).toBeInstanceOf(Error);
      expect(classifyFailure(err)).toMatchObject({ retryable: true, code: 'WORKER_EXIT' });
    }
    // A new worker takes the next job.
    expect((await pool.analyse(input)).parsed.subject).toBe('hi');
  });

  it('parses on the calling thread with size 0, or from the .ts sources', async () => {
    const raw = Buffer.from('From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n');
    for (const pool of [new ParsePool({ size: 0, workerUrl }), new ParsePool({ size: 2 })]) {
      pools.push(pool);
      expect(pool.threaded).toBe(false);
      const got = await pool.analyse({ raw, path: null, limits, key: 'z' });
      expect(got).toEqual({ parsed: await parseMessage(raw, limits, 'z'), classification: classify(raw) });
    }
  });
});
