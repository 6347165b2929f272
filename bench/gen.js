// Generated mixed mail for benchmarks: plain text, HTML+text alternatives, attachments; 5-50 KB.
import { randomBytes } from 'node:crypto';

const words =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(
    ' ',
  );
function text(n, seed) {
  let out = '';
  let i = seed;
  while (out.length < n) {
    out += words[i++ % words.length] + (i % 13 === 0 ? '.\r\n' : ' ');
  }
  return out;
}

export function mixedMessage(i, size = 5_000 + ((i * 7919) % 45_000)) {
  const head = [
    `Message-ID: <bench-${i}-${randomBytes(4).toString('hex')}@bench.example>`,
    `From: "Customer ${i}" <customer${i}@example.com>`,
    `To: reply+${i}@reply.example.test`,
    `Subject: Re: [#${i}] ticket update`,
    'Date: Thu, 26 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
  ];
  const kind = i % 3;
  if (kind === 0) {
    return Buffer.from(
      [...head, 'Content-Type: text/plain; charset=utf-8', '', text(size, i), ''].join('\r\n'),
    );
  }
  if (kind === 1) {
    const t = text(size / 3, i);
    const html = `<html><body><p>${text(size / 2, i + 1).replace(/\r\n/g, '</p><p>')}</p><blockquote>quoted</blockquote></body></html>`;
    return Buffer.from(
      [
        ...head,
        'Content-Type: multipart/alternative; boundary="alt"',
        '',
        '--alt',
        'Content-Type: text/plain; charset=utf-8',
        '',
        t,
        '--alt',
        'Content-Type: text/html; charset=utf-8',
        '',
        html,
        '--alt--',
        '',
      ].join('\r\n'),
    );
  }
  const att = randomBytes(Math.floor(size * 0.7))
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      ...head,
      'Content-Type: multipart/mixed; boundary="mix"',
      '',
      '--mix',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text(size / 5, i),
      'On Mon, Nov 23, 2026 at 10:00 AM Support <support@example.test> wrote:',
      '> previous message',
      '--mix',
      'Content-Type: application/pdf; name="report.pdf"',
      'Content-Disposition: attachment; filename="report.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      att,
      '--mix--',
      '',
    ].join('\r\n'),
  );
}

/** One big message with a single base64 attachment of about `bytes` encoded size. */
export function bigMessage(bytes) {
  const raw = randomBytes(Math.floor((bytes * 3) / 4));
  const b64 = raw.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.concat([
    Buffer.from(
      [
        'Message-ID: <big@bench.example>',
        'From: a@example.com',
        'To: b@example.test',
        'Subject: big',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'see attachment',
        '--b',
        'Content-Type: application/octet-stream; name="big.bin"',
        'Content-Disposition: attachment; filename="big.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        '',
      ].join('\r\n'),
    ),
    Buffer.from(b64),
    Buffer.from('\r\n--b--\r\n'),
  ]);
}
