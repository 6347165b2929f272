// fast-check arbitraries for hostile MIME: huge and broken headers, NUL and 8-bit bytes, deep and
// wide multipart trees with broken/missing/mismatched boundaries, bogus encodings and charsets,
// truncation anywhere. Also a lazily streamed "many parts" message (never built in memory).
import { Readable } from 'node:stream';
import fc from 'fast-check';

const headerName = fc.constantFrom(
  'Subject',
  'From',
  'To',
  'Cc',
  'Reply-To',
  'Message-ID',
  'In-Reply-To',
  'References',
  'Date',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-Disposition',
  'Auto-Submitted',
  'X-Loop',
  'Return-Path',
  'Received',
  'X-\u00e9\u0000',
  '',
  ':',
);

const nasty = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '=?utf-8?B?////?=',
    '=?bogus-charset?Q?=ZZ=0?=',
    '=?utf-8?Q?' + '=C3'.repeat(50) + '?=',
    '"unterminated <a@b',
    '<<<<>>>>@@@',
    '\u0000\u0000\u0000',
    'a'.repeat(20_000),
    '('.repeat(3000),
    '"'.repeat(3000),
    '<'.repeat(3000) + '@',
    'undisclosed-recipients:;',
    'g: a@b, (c) <d@e>;, "x" <f@g>',
  ),
);

const headerLine = fc
  .tuple(headerName, nasty, fc.constantFrom('\r\n', '\n', '\r', '\r\n '))
  .map(([k, v, eol]) => `${k}: ${v}${eol}`);

const ctype = fc.oneof(
  fc.constantFrom(
    'text/plain',
    'text/plain; charset=utf-8',
    'text/plain; charset=x-nonsense',
    'text/html; charset=iso-2022-jp',
    'message/rfc822',
    'message/delivery-status',
    'multipart/report; report-type=delivery-status',
    'application/octet-stream; name="../../x"',
    'image/png',
    '',
    ';;;;',
  ),
  fc.string({ maxLength: 60 }),
);
const cte = fc.constantFrom(
  '7bit',
  '8bit',
  'base64',
  'quoted-printable',
  'binary',
  'x-uuencode',
  'bogus',
  '',
);
const leafBody = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom(
    '====',
    '=\r\n=\r\n=ZZ',
    '!!!not base64!!!',
    'AAAA'.repeat(1000),
    '\u0000'.repeat(500),
    '.\r\n..\r\n.',
  ),
);

interface Part {
  text: string;
}

function leaf(): fc.Arbitrary<Part> {
  return fc
    .tuple(fc.array(headerLine, { maxLength: 4 }), ctype, cte, leafBody)
    .map(([hs, ct, enc, body]) => ({
      text: `Content-Type: ${ct}\r\nContent-Transfer-Encoding: ${enc}\r\n${hs.join('')}\r\n${body}`,
    }));
}

const tree: fc.Memo<Part> = fc.memo((depth) =>
  depth <= 1
    ? leaf()
    : fc.oneof(
        { weight: 2, arbitrary: leaf() },
        {
          weight: 1,
          arbitrary: fc
            .tuple(
              fc.constantFrom('b', 'b1', '', '--', 'x'.repeat(100), 'same'),
              fc.array(tree(depth - 1), { maxLength: 6 }),
              fc.constantFrom('ok', 'no-close', 'wrong-close', 'no-open', 'garbage-preamble'),
            )
            .map(([b, kids, mode]) => {
              const open = mode === 'no-open' ? `--other` : `--${b}`;
              const close = mode === 'no-close' ? '' : mode === 'wrong-close' ? `--${b}x--` : `--${b}--`;
              const pre = mode === 'garbage-preamble' ? '--\r\n--b\r\n\u0000preamble\r\n' : '';
              return {
                text: `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n${pre}${kids
                  .map((k) => `${open}\r\n${k.text}\r\n`)
                  .join('')}${close}\r\n`,
              };
            }),
        },
      ),
);

/** One hostile message as bytes. */
export const hostileMessage: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.array(headerLine, { maxLength: 30 }),
    tree(6),
    fc.option(fc.nat(), { nil: undefined }),
    fc.boolean(),
  )
  .map(([hs, body, cut, lf]) => {
    let s = `${hs.join('')}MIME-Version: 1.0\r\n${body.text}`;
    if (lf) s = s.replace(/\r\n/g, '\n');
    if (cut !== undefined) s = s.slice(0, cut % (s.length + 1));
    return Buffer.from(s, 'latin1');
  });

/** Extreme shapes, built deterministically (they are too big for shrinking to help). */
export function extremes(): Array<[string, Buffer]> {
  const deep = (n: number) => {
    let s = 'Content-Type: text/plain\r\n\r\ninner\r\n';
    for (let i = 0; i < n; i++)
      s = `Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n${s}\r\n--d${i}--\r\n`;
    return Buffer.from(`Subject: deep\r\n${s}`);
  };
  const rfc822 = (n: number) => {
    let s = 'Subject: in\r\n\r\nbody\r\n';
    for (let i = 0; i < n; i++) s = `Content-Type: message/rfc822\r\n\r\n${s}`;
    return Buffer.from(s);
  };
  return [
    ['nesting 200', deep(200)],
    ['nesting 5000', deep(5000)],
    ['message/rfc822 nesting 5000', rfc822(5000)],
    ['2 MB header line', Buffer.from(`Subject: ${'x'.repeat(2 << 20)}\r\n\r\nbody\r\n`)],
    ['100k folded header lines', Buffer.from(`Subject: a\r\n${' x\r\n'.repeat(100_000)}\r\nbody\r\n`)],
    ['50k headers', Buffer.from(`${'X-A: b\r\n'.repeat(50_000)}\r\nbody\r\n`)],
    ['only NUL bytes', Buffer.alloc(1 << 20, 0)],
    ['no header/body separator, 1 MB', Buffer.from('Subject: x\r\n' + 'a: b\r\n'.repeat(150_000))],
    [
      '5000 parts',
      Buffer.from(
        `Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(5000)}--b--\r\n`,
      ),
    ],
    [
      'base64 with 5 MB of garbage',
      Buffer.from(`Content-Transfer-Encoding: base64\r\n\r\n${'!@#$'.repeat(1_250_000)}`),
    ],
    ['20 MB html', Buffer.from(`Content-Type: text/html\r\n\r\n${'<div>'.repeat(4_000_000)}`)],
    ['empty', Buffer.alloc(0)],
  ];
}

/** A multipart message of `parts` parts, produced lazily in ~64 KB chunks (never built whole). */
export function streamedManyParts(parts: number): { stream: Readable; produced: () => number } {
  let i = -1;
  let produced = 0;
  const part = Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nx\r\n');
  const per = Math.floor(65_536 / part.length);
  const stream = new Readable({
    read() {
      if (i < 0) {
        i = 0;
        this.push(
          Buffer.from(
            'Subject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n',
          ),
        );
        return;
      }
      if (i >= parts) {
        this.push(Buffer.from('--b--\r\n'));
        this.push(null);
        return;
      }
      const n = Math.min(per, parts - i);
      i += n;
      produced += n;
      this.push(Buffer.concat(Array.from({ length: n }, () => part)));
    },
  });
  return { stream, produced: () => produced };
}
