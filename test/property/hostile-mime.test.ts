// Property tests over hostile MIME: parseMessage (the pipeline's parser with its limits), classify
// and stripReply never crash, never hang (per-input deadline) and keep memory bounded. The parser
// may refuse only with a PermanentError (the message goes dead with a reason, never retried forever).
// `FAULT_LONG=1` runs 20x the inputs.
import { rmSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/core/classify/index.js';
import { PermanentError } from '../../src/core/errors.js';
import { DEFAULT_PARSE_LIMITS, parseMessage } from '../../src/core/parse.js';
import { stripReply } from '../../src/core/reply/strip.js';
import { tempDir } from '../helpers/app.js';
import { LONG } from '../fault/kit.js';
import { extremes, hostileMessage, streamedManyParts } from './hostile.js';

const dir = tempDir('mi-prop-mime-');
const limits = { ...DEFAULT_PARSE_LIMITS, inlineAttachmentMax: 4096, attachmentDir: dir };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`hang: ${what} > ${ms} ms`)), ms))),
  ]);
}

let seq = 0;
/** Runs the whole per-message core path; returns 'ok' or 'refused' (PermanentError). */
async function exercise(raw: Buffer, ms = 10_000): Promise<'ok' | 'refused'> {
  const c = classify(raw);
  expect(typeof c.autoReply.autoReply).toBe('boolean');
  expect(typeof c.bounce.bounce).toBe('boolean');
  try {
    const p = await deadline(parseMessage(raw, limits, `k${seq++}`), ms, 'parseMessage');
    const s = stripReply({ text: p.text, html: p.html });
    expect(typeof s.text).toBe('string');
    return 'ok';
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('hang:')) throw err;
    expect(err, String(err)).toBeInstanceOf(PermanentError);
    return 'refused';
  }
}

describe('hostile MIME: no crash, no hang, bounded memory', () => {
  it('random hostile messages (fast-check)', async () => {
    const runs = LONG ? 10_000 : 500;
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const tally = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(hostileMessage, async (raw) => {
        tally[await exercise(raw)]++;
        peak = Math.max(peak, process.memoryUsage().rss);
      }),
      { numRuns: runs, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
    console.log(`[hostile-mime] ${runs} inputs: ${JSON.stringify(tally)}; RSS ${mb(rss0)} → peak ${mb(peak)}`); // prettier-ignore
    expect(tally.ok + tally.refused).toBe(runs);
    expect(peak - rss0).toBeLessThan(512 * 1024 * 1024);
  }, 300_000);

  it.each(extremes())(
    '%s',
    async (_name, raw) => {
      const t0 = Date.now();
      const rss0 = process.memoryUsage().rss;
      const r = await exercise(raw, 30_000);
      const rss = process.memoryUsage().rss;
      console.log(
        `[hostile-mime] ${_name}: ${r} in ${Date.now() - t0} ms, RSS +${mb(Math.max(0, rss - rss0))}`,
      );
      expect(rss - rss0).toBeLessThan(768 * 1024 * 1024);
    },
    60_000,
  );

  it('a streamed 1,000,000-part message: refused at maxParts without reading it all, bounded memory', async () => {
    const N = 1_000_000;
    const { stream, produced } = streamedManyParts(N);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    let outcome = 'ok';
    try {
      await deadline(parseMessage(stream, limits, 'million'), 120_000, 'million-part parse');
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('hang:')) throw err;
      expect(err).toBeInstanceOf(PermanentError);
      outcome = `refused: ${(err as Error).message.slice(0, 80)}`;
    } finally {
      clearInterval(sampler);
    }
    const ms = Date.now() - t0;
    console.log(`[hostile-mime] ${N} parts streamed: ${outcome}; ${produced()} parts produced; ${ms} ms; RSS ${mb(rss0)} → peak ${mb(peak)}`); // prettier-ignore
    expect(outcome).toMatch(/^refused/);
    expect(peak - rss0).toBeLessThan(256 * 1024 * 1024);
  }, 180_000);

  it('a streamed 20,000-part message with maxParts raised (200,000 long form): parsed to the end, memory measured', async () => {
    const N = LONG ? 200_000 : 20_000;
    const { stream, produced } = streamedManyParts(N);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const t0 = Date.now();
    let outcome = 'ok';
    try {
      await deadline(parseMessage(stream, { ...limits, maxParts: N + 10 }, 'wide'), 170_000, 'wide parse');
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('hang:')) throw err;
      expect(err).toBeInstanceOf(PermanentError);
      outcome = `refused: ${(err as Error).message.slice(0, 80)}`;
    } finally {
      clearInterval(sampler);
    }
    console.log(`[hostile-mime] ${N} parts, maxParts ${N + 10}: ${outcome}; ${produced()} produced; ${Date.now() - t0} ms; RSS ${mb(rss0)} → peak ${mb(peak)}`); // prettier-ignore
    expect(produced()).toBe(N);
  }, 180_000);
});

function mb(n: number): string {
  return `${Math.round(n / 1048576)} MB`;
}
