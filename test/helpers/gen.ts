/** Generated test mail: mixed sizes, unique Message-IDs, 8-bit bytes, dot lines, attachments. */
import { randomBytes } from 'node:crypto';

export function genMessage(i: number, opts: { size?: number; tag?: string } = {}): Buffer {
  const size = opts.size ?? 5_000 + ((i * 7919) % 45_000);
  const tag = opts.tag ?? 'gen';
  const head = [
    `Message-ID: <${tag}-${i}-${randomBytes(4).toString('hex')}@test.example>`,
    `From: Sender ${i} <sender${i}@customer.example>`,
    `To: support@example.test`,
    `Subject: test message ${i}`,
    `Date: Thu, 26 Nov 2026 10:00:00 +0000`,
    'MIME-Version: 1.0',
  ];
  if (i % 3 === 0) {
    const b = `b${i}`;
    const text = `Hello ${i}\r\n.leading dot line\r\ncaf\u00e9\r\n`;
    const att = randomBytes(Math.max(100, Math.floor((size * 3) / 4) - 600))
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n');
    return Buffer.concat([
      Buffer.from(
        [
          ...head,
          `Content-Type: multipart/mixed; boundary="${b}"`,
          '',
          `--${b}`,
          'Content-Type: text/plain; charset=utf-8',
          'Content-Transfer-Encoding: 8bit',
          '',
          text,
          `--${b}`,
          'Content-Type: application/octet-stream; name="data.bin"',
          'Content-Disposition: attachment; filename="data.bin"',
          'Content-Transfer-Encoding: base64',
          '',
          att,
          `--${b}--`,
          '',
        ].join('\r\n'),
        'utf8',
      ),
    ]);
  }
  const line = `Line of text for message ${i}, padding padding padding padding.\r\n`;
  const body = line.repeat(Math.max(1, Math.floor(size / line.length)));
  const latin = Buffer.from([0xe9, 0x74, 0xe9, 0x0d, 0x0a]);
  return Buffer.concat([
    Buffer.from(
      [
        ...head,
        'Content-Type: text/plain; charset=iso-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        '',
      ].join('\r\n'),
    ),
    latin,
    Buffer.from(`..dot-stuffed looking line\r\n${body}`),
  ]);
}
