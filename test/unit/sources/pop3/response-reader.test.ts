import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResponseReader } from '../../../../src/sources/pop3/response-reader.js';
import { stuff } from './fake-pop3-server.js';

interface Parsed {
  lines: string[];
  bodies: Buffer[];
}

/** Feeds `chunks` to a reader that treats every "+OK multi" line as the start of a body. */
function parse(chunks: Buffer[]): Parsed {
  const out: Parsed = { lines: [], bodies: [] };
  let parts: Buffer[] = [];
  const reader: ResponseReader = new ResponseReader({
    onLine: (l) => {
      out.lines.push(l.toString('latin1'));
      if (l.toString('latin1') === '+OK multi') reader.startBody();
    },
    onData: (d) => parts.push(Buffer.from(d)),
    onEnd: () => {
      out.bodies.push(Buffer.concat(parts));
      parts = [];
    },
  });
  for (const c of chunks) reader.push(c);
  return out;
}

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'latin1');

const MESSAGES: Array<[string, Buffer]> = [
  ['dot-stuffed lines', crlf('Subject: x\n\n.one\n..two\n.\n...\nend\n')],
  ['8-bit bytes', Buffer.concat([crlf('A: b\n\n'), Buffer.from([0xe9, 0xff, 0x00, 0x80, 0x0d, 0x0a])])],
  ['empty message', Buffer.alloc(0)],
  ['only dot lines', crlf('.\n.\n..\n.\n')],
  ['CR inside lines and a dot-CR-X line', Buffer.from('a\rb\r\n.\rx\r\n\r\n', 'latin1')],
];

function response(raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from('+OK multi\r\n'), stuff(raw), Buffer.from('+OK next\r\n')]);
}

describe('ResponseReader', () => {
  for (const [name, raw] of MESSAGES) {
    it(`${name}: byte-exact at every 2-way and 3-way split`, () => {
      const wire = response(raw);
      const want = { lines: ['+OK multi', '+OK next'], bodies: [raw] };
      expect(parse([wire])).toEqual(want);
      for (let i = 1; i < wire.length; i++) {
        expect(parse([wire.subarray(0, i), wire.subarray(i)])).toEqual(want);
        for (let j = i + 1; j < wire.length; j++) {
          expect(parse([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)])).toEqual(want);
        }
      }
      expect(parse(Array.from(wire, (b) => Buffer.from([b])))).toEqual(want);
    });
  }

  it('tolerates bare LF line ends (terminator ".\\n")', () => {
    const raw = Buffer.from('Subject: x\n\n.dot\nbody\n', 'latin1');
    const wire = Buffer.concat([Buffer.from('+OK multi\n'), stuff(raw, '\n'), Buffer.from('+OK next\n')]);
    for (let i = 1; i < wire.length; i++) {
      expect(parse([wire.subarray(0, i), wire.subarray(i)])).toEqual({ lines: ['+OK multi', '+OK next'], bodies: [raw] }); // prettier-ignore
    }
  });

  it('property: any message, any chunking, is recovered exactly', () => {
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    const lineish = fc
      .array(fc.constantFrom('.', '..', '\r\n', '\r', '\n', 'x', '\xe9', '.\r\n', '\r\n.'), { maxLength: 40 })
      .map((a) => Buffer.from(a.join(''), 'latin1'));
    fc.assert(
      fc.property(fc.oneof(bytes, lineish), fc.array(fc.nat(), { maxLength: 8 }), (body, cuts) => {
        // The wire form needs CRLF line ends to be unambiguous: normalise the message first.
        const raw = Buffer.from(body.toString('latin1').replace(/\r?\n/g, '\n').replace(/\r/g, '').replace(/\n/g, '\r\n'), 'latin1'); // prettier-ignore
        const withEol = raw.length > 0 && raw[raw.length - 1] !== 0x0a ? Buffer.concat([raw, Buffer.from('\r\n')]) : raw; // prettier-ignore
        const wire = response(raw);
        const points = [...new Set(cuts.map((c) => c % wire.length))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(wire.subarray(prev, p));
          prev = p;
        }
        chunks.push(wire.subarray(prev));
        expect(parse(chunks)).toEqual({ lines: ['+OK multi', '+OK next'], bodies: [withEol] });
      }),
      { numRuns: 500 },
    );
  });

  it('rejects an over-long status line', () => {
    const reader = new ResponseReader({ onLine: () => undefined, onData: () => undefined, onEnd: () => undefined }, 16); // prettier-ignore
    expect(() => reader.push(Buffer.alloc(17, 0x41))).toThrow(/status line longer/);
  });
});
