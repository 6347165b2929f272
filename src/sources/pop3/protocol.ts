// Pure POP3 protocol helpers: parsing of STAT/LIST/UIDL/CAPA replies, the APOP digest and the
// XOAUTH2 initial response. No I/O here, so all of it is unit-tested directly.
import { createHash } from 'node:crypto';
import { Pop3Error } from './errors.js';

/** A STAT reply. */
export interface Pop3Stat {
  count: number;
  size: number;
}

/** One LIST entry: message number and size in octets. */
export interface Pop3ListEntry {
  n: number;
  size: number;
}

/** One UIDL entry: message number and the server's unique id. */
export interface Pop3UidlEntry {
  n: number;
  uid: string;
}

/** CAPA result: upper-cased capability keyword → its arguments. */
export type Pop3Capabilities = Map<string, string[]>;

function protocolError(what: string, line: string): Pop3Error {
  return new Pop3Error('PROTOCOL', `malformed ${what} reply: ${JSON.stringify(line.slice(0, 200))}`, false);
}

function posInt(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
}

/** Parses "<count> <size>" (the text after "+OK "). */
export function parseStat(text: string): Pop3Stat {
  const [a, b] = text.trim().split(/\s+/);
  const count = posInt(a);
  const size = posInt(b);
  if (count === undefined || size === undefined) throw protocolError('STAT', text);
  return { count, size };
}

/** Parses one "<n> <size>" line (LIST). */
export function parseListLine(line: string): Pop3ListEntry {
  const [a, b] = line.trim().split(/\s+/);
  const n = posInt(a);
  const size = posInt(b);
  if (n === undefined || size === undefined) throw protocolError('LIST', line);
  return { n, size };
}

/** Parses one "<n> <uid>" line (UIDL); the uid is 1–70 printable characters (RFC 1939). */
export function parseUidlLine(line: string): Pop3UidlEntry {
  const [a, uid] = line.trim().split(/\s+/);
  const n = posInt(a);
  if (n === undefined || uid === undefined || !/^[\x21-\x7e]{1,70}$/.test(uid))
    throw protocolError('UIDL', line);
  return { n, uid };
}

/** Splits a multi-line body into non-empty lines (CRLF or LF). */
export function bodyLines(body: Buffer): string[] {
  return body
    .toString('latin1')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
}

/** Parses CAPA lines into a map. */
export function parseCapa(lines: readonly string[]): Pop3Capabilities {
  const caps: Pop3Capabilities = new Map();
  for (const line of lines) {
    const [name, ...args] = line.trim().split(/\s+/);
    if (name) caps.set(name.toUpperCase(), args);
  }
  return caps;
}

/** The APOP timestamp ("<...@...>") of a greeting, if any. */
export function apopTimestamp(greeting: string): string | undefined {
  return /<[^<>\s]+@[^<>\s]+>/.exec(greeting)?.[0];
}

/** MD5 hex digest of timestamp + secret, as APOP wants. */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5')
    .update(timestamp + secret, 'utf8')
    .digest('hex');
}

/** Base64 SASL XOAUTH2 initial response: "user=U^Aauth=Bearer T^A^A". */
export function xoauth2Response(user: string, accessToken: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
}
