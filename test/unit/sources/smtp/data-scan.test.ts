// The fast end-of-data scan against smtp-server's own: the same inputs, split into the same chunks,
// must give the same data, the same byte count, the same end of data, the same bytes kept for the
// next chunk and the same bytes handed back to command mode. (Only how the data is cut into writes
// differs: the fast scan emits the segments around escape dots together.)
import fc from 'fast-check';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { describe, expect, it } from 'vitest';
import {
  fastFeedDataStream,
  installFastDataScan,
  originalFeedDataStream,
  REPLACED_SOURCE_SHA256,
  sourceHash,
} from '../../../../src/sources/smtp/data-scan.js';

type Feed = typeof originalFeedDataStream;

/** How many writes to the data stream each `feedAll` call saw (last one last). */
const writes: number[] = [];

interface Seen {
  data: string;
  dataBytes: number;
  ended: boolean;
  commands: string[];
  remainder: string;
  lastBytes: string | false;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Feeds `chunks` to a parser in data mode whose scan is `feed`; returns everything observable. */
async function feedAll(feed: Feed, chunks: Buffer[]): Promise<Seen> {
  const s = new SMTPStream();
  s._feedDataStream = feed;
  const commands: string[] = [];
  s.oncommand = (cmd: Buffer, cb?: () => void) => {
    commands.push(cmd.toString('latin1'));
    cb?.();
  };
  const ds = s.startDataMode();
  const out: string[] = [];
  let ended = false;
  ds.on('data', (b: Buffer) => out.push(b.toString('latin1')));
  ds.on('end', () => {
    ended = true;
    s.continue();
  });
  for (const c of chunks) {
    await new Promise<void>((resolve, reject) => s.write(c, (err) => (err ? reject(err) : resolve())));
  }
  for (let k = 0; k < 4; k++) await turn();
  writes.push(out.length);
  return {
    data: out.join(''),
    dataBytes: s.dataBytes,
    ended,
    commands,
    remainder: s._remainder,
    lastBytes: s._lastBytes ? s._lastBytes.toString('latin1') : false,
  };
}

/** Splits `input` at the given offsets (taken modulo its length, sorted, deduplicated). */
function split(input: Buffer, cuts: number[]): Buffer[] {
  if (!input.length) return [];
  const at = [...new Set(cuts.map((c) => c % input.length))].filter((c) => c > 0).sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    parts.push(input.subarray(from, c));
    from = c;
  }
  parts.push(input.subarray(from));
  return parts;
}

async function same(input: Buffer, chunks: Buffer[]): Promise<void> {
  const want = await feedAll(originalFeedDataStream, chunks);
  const got = await feedAll(fastFeedDataStream, chunks);
  expect(got, JSON.stringify(input.toString('latin1'))).toEqual(want);
}

const token = fc.constantFrom(
  '.',
  '..',
  '...',
  '\r\n',
  '\n',
  '\r',
  'a',
  'bc',
  '.\r\n',
  '\r\n.\r\n',
  '\r\n..\r\n',
  '\n.\n',
  'QUIT\r\n',
  'x'.repeat(70),
);

describe('fast end-of-data scan', () => {
  it('is written against the installed smtp-server (re-check data-scan.ts after an upgrade)', () => {
    expect(sourceHash(originalFeedDataStream)).toBe(REPLACED_SOURCE_SHA256);
    expect(installFastDataScan()).toBe('fast');
    expect(SMTPStream.prototype._feedDataStream).toBe(fastFeedDataStream);
    expect(installFastDataScan()).toBe('fast');
  });

  it('leaves an installed function it was not written against in place (an upgraded smtp-server)', () => {
    const proto = SMTPStream.prototype;
    const before = proto._feedDataStream;
    const upgraded: Feed = function (this: SMTPStream, chunk, done) {
      originalFeedDataStream.call(this, chunk, done);
    };
    try {
      proto._feedDataStream = upgraded;
      expect(installFastDataScan()).toBe('original');
      expect(proto._feedDataStream).toBe(upgraded);
    } finally {
      proto._feedDataStream = before;
    }
  });

  it('ends the data, unstuffs dots and hands back the rest like the original', async () => {
    const input = Buffer.from('Subject: x\r\n\r\n..leading\r\nmid.dle\r\n.\r\nMAIL FROM:<a@b>\r\nRC');
    const seen = await feedAll(fastFeedDataStream, [input]);
    expect(seen.data).toBe('Subject: x\r\n\r\n.leading\r\nmid.dle\r\n');
    expect(seen.ended).toBe(true);
    expect(seen.commands).toEqual(['MAIL FROM:<a@b>']);
    expect(seen.remainder).toBe('RC');
    await same(input, [input]);
  });

  it('agrees with the original at every split of messages with dots at line starts', async () => {
    const inputs = [
      '.\r\n',
      '..\r\n.\r\n',
      'a\r\n.\r\nNOOP\r\n',
      '\r\n.\r\n',
      'x\r\n..\r\n...\r\n.\r\n',
      'line\n.\nnot the end\r\n.x\r\n..\r\n.\r\nQUIT\r\n',
      'ab\r\n.\r',
      'no end at all\r\n..',
    ].map((s) => Buffer.from(s, 'latin1'));
    for (const input of inputs) {
      for (let a = 0; a < input.length; a++) {
        for (let b = a; b < input.length; b++) await same(input, split(input, [a, b]));
      }
    }
  });

  it('agrees with the original on random inputs split at random places', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(token, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (tokens, cuts) => {
          const input = Buffer.from(tokens.join(''), 'latin1');
          await same(input, split(input, cuts));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('drops escape dots in the same call: one write per chunk, not one per dotted line', async () => {
    const lines = Buffer.from('..\r\n'.repeat(64 * 1024), 'latin1'); // 256 KiB of dot-stuffed lines
    const input = Buffer.concat([lines, Buffer.from('.\r\n')]);
    const chunks = split(input, [65_536, 131_072, 196_608]);
    const fast = await feedAll(fastFeedDataStream, chunks);
    expect(fast.data).toBe('.\r\n'.repeat(64 * 1024));
    expect(fast.ended).toBe(true);
    expect(writes.at(-1)).toBeLessThanOrEqual(chunks.length + 1);
    const original = await feedAll(originalFeedDataStream, chunks);
    expect(writes.at(-1)).toBeGreaterThan(60_000); // smtp-server: a write and a turn per escape dot
    expect(fast).toEqual(original);
  });

  it('lets the next chunk wait a turn of the event loop after one with escape dots only', async () => {
    const s = new SMTPStream();
    s.startDataMode().resume();
    let called = false;
    fastFeedDataStream.call(s, Buffer.from('a plain line\r\nand more\r\n'), () => (called = true));
    expect(called).toBe(true);
    called = false;
    fastFeedDataStream.call(s, Buffer.from('a\r\n..dotted\r\nand more\r\n'), () => (called = true));
    expect(called).toBe(false);
    await turn();
    expect(called).toBe(true);
  });

  it('agrees with the original on a large message in socket-sized chunks', async () => {
    const lines: string[] = [];
    for (let n = 0; lines.join('').length < 200_000; n++) {
      lines.push(
        n % 37 === 0 ? `..stuffed ${n}\r\n` : n % 11 === 0 ? `.\n${n}\r\n` : `${'b'.repeat(n % 90)}\r\n`,
      );
    }
    const input = Buffer.from(`${lines.join('')}.\r\nQUIT\r\n`, 'latin1');
    const cuts: number[] = [];
    for (let at = 65_536; at < input.length; at += 65_536 - 7) cuts.push(at);
    await same(input, split(input, cuts));
    await same(input, split(input, [1, 2, 3, 4, 5, 100_003]));
  });
});
