/**
 * The `Received:` trace header the listener prepends (RFC 5321 §4.4), e.g.
 *
 *   Received: from client.example ([192.0.2.1])
 *   	by mx.example with ESMTPS id 0k3v9f2a.1
 *   	for <reply+42@reply.example>; Tue, 26 Nov 2026 01:02:03 +0000
 *
 * No reverse lookups are made. Client-supplied values (HELO) are reduced to safe characters so
 * they cannot inject header lines. `for` is only given for a single recipient (RFC 5321 §7.2).
 */

export interface ReceivedInfo {
  /** The HELO/EHLO argument, false when the client sent none. */
  helo: string | false;
  remoteAddress: string;
  hostname: string;
  /** SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA (RFC 3848). */
  protocol: string;
  queueId: string;
  rcptTo: readonly string[];
  date: Date;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** RFC 5322 date-time in UTC: `Tue, 26 Nov 2026 01:02:03 +0000`. */
export function rfc5322Date(d: Date): string {
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/** An address literal: `[192.0.2.1]` or `[IPv6:2001:db8::1]` (IPv4-mapped IPv6 shown as IPv4). */
export function addressLiteral(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return `[${v4[1]}]`;
  return ip.includes(':') ? `[IPv6:${ip}]` : `[${ip}]`;
}

/** Keeps printable ASCII except characters that would break the trace syntax; caps the length. */
export function sanitizeToken(s: string, max = 255): string {
  const cleaned = s.replace(/[^\x21-\x7e]|[()<>;\\"]/g, '').slice(0, max);
  return cleaned.length ? cleaned : 'unknown';
}

export function receivedHeader(i: ReceivedInfo): Buffer {
  const helo = i.helo === false ? 'unknown' : sanitizeToken(i.helo);
  const by = `\tby ${sanitizeToken(i.hostname)} with ${sanitizeToken(i.protocol, 16)} id ${sanitizeToken(i.queueId, 64)}`;
  const date = rfc5322Date(i.date);
  const only = i.rcptTo.length === 1 ? i.rcptTo[0] : undefined;
  const tail =
    only === undefined
      ? [`${by};`, `\t${date}`]
      : [by, `\tfor <${only.replace(/[^\x21-\x7e]|[<>]/g, '').slice(0, 320)}>; ${date}`];
  const lines = [`Received: from ${helo} (${addressLiteral(i.remoteAddress)})`, ...tail];
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}
