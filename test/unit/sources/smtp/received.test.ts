import { describe, expect, it } from 'vitest';
import { BareLfCheck, findBareLf } from '../../../../src/sources/smtp/bare-lf.js';
import { addressLiteral, receivedHeader, rfc5322Date } from '../../../../src/sources/smtp/received.js';

const date = new Date(Date.UTC(2026, 10, 26, 1, 2, 3));

describe('Received: header', () => {
  it('has the RFC 5321 §4.4 form with one recipient', () => {
    const h = receivedHeader({
      helo: 'client.example',
      remoteAddress: '192.0.2.1',
      hostname: 'mx.test',
      protocol: 'ESMTPS',
      queueId: 'abc.1',
      rcptTo: ['reply+1@reply.test'],
      date,
    }).toString('latin1');
    expect(h).toBe(
      'Received: from client.example ([192.0.2.1])\r\n\tby mx.test with ESMTPS id abc.1\r\n' +
        '\tfor <reply+1@reply.test>; Thu, 26 Nov 2026 01:02:03 +0000\r\n',
    );
  });
  it('omits `for` with several recipients; sanitises HELO; IPv6 literals', () => {
    const h = receivedHeader({
      helo: 'evil\r\nX-Injected: yes (x)',
      remoteAddress: '2001:db8::1',
      hostname: 'mx.test',
      protocol: 'ESMTP',
      queueId: 'q',
      rcptTo: ['a@x.test', 'b@x.test'],
      date,
    }).toString('latin1');
    expect(h).toBe(
      'Received: from evilX-Injected:yesx ([IPv6:2001:db8::1])\r\n\tby mx.test with ESMTP id q;\r\n\tThu, 26 Nov 2026 01:02:03 +0000\r\n',
    );
    expect(h.split('\r\n').filter((l) => l && !l.startsWith('\t'))).toHaveLength(1);
  });
  it('formats helpers', () => {
    expect(addressLiteral('::ffff:10.0.0.1')).toBe('[10.0.0.1]');
    expect(rfc5322Date(new Date(Date.UTC(2027, 0, 5, 23, 59, 9)))).toBe('Tue, 5 Jan 2027 23:59:09 +0000');
  });
});

describe('bare LF scanner', () => {
  it('finds bare LF, including across chunk boundaries', () => {
    expect(findBareLf(Buffer.from('a\r\nb\r\n'), -1)).toBe(-1);
    expect(findBareLf(Buffer.from('a\nb'), -1)).toBe(1);
    expect(findBareLf(Buffer.from('\nb'), 0x0d)).toBe(-1);
    expect(findBareLf(Buffer.from('\nb'), 0x61)).toBe(0);
  });
  const run = (chunks: string[], reject: boolean): { err: Error | null; seen: boolean } => {
    const s = new BareLfCheck(reject);
    for (const c of chunks) s.update(Buffer.from(c));
    return { err: s.finish(), seen: s.seen };
  };
  it('refuses only in reject mode, at the end, including across chunk boundaries', () => {
    expect(run(['a\r', '\nb\r\n'], true)).toMatchObject({ err: null, seen: false });
    expect(run(['a\n', 'b'], false)).toMatchObject({ err: null, seen: true });
    expect(run(['a\r\n', '\nb'], true).seen).toBe(true);
    const rej = run(['a\n', 'b'], true);
    expect(rej.seen).toBe(true);
    expect(rej.err).toMatchObject({ responseCode: 550 });
  });
});
