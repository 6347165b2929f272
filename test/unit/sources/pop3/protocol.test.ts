import { describe, expect, it } from 'vitest';
import { classifyErrResponse, classifySocketError, Pop3Error } from '../../../../src/sources/pop3/errors.js';
import * as p from '../../../../src/sources/pop3/protocol.js';

describe('POP3 protocol helpers', () => {
  it('APOP digest matches the RFC 1939 example', () => {
    const ts = p.apopTimestamp('+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>');
    expect(ts).toBe('<1896.697170952@dbc.mtview.ca.us>');
    expect(p.apopDigest(ts ?? '', 'tanstaaf')).toBe('c4c9334bac560ecc979e58001b3e22fb');
    expect(p.apopTimestamp('+OK Dovecot ready.')).toBeUndefined();
  });

  it('XOAUTH2 initial response', () => {
    expect(Buffer.from(p.xoauth2Response('a@b.c', 'T0K'), 'base64').toString()).toBe(
      'user=a@b.c\x01auth=Bearer T0K\x01\x01',
    );
  });

  it('parses STAT, LIST, UIDL, CAPA', () => {
    expect(p.parseStat('2 320')).toEqual({ count: 2, size: 320 });
    expect(p.parseListLine('1 120')).toEqual({ n: 1, size: 120 });
    expect(p.parseUidlLine('3 00000001abcdef')).toEqual({ n: 3, uid: '00000001abcdef' });
    expect(() => p.parseStat('x')).toThrow(Pop3Error);
    expect(() => p.parseUidlLine('1')).toThrow(/malformed UIDL/);
    const caps = p.parseCapa(['USER', 'SASL PLAIN XOAUTH2', 'pipelining']);
    expect(caps.get('SASL')).toEqual(['PLAIN', 'XOAUTH2']);
    expect(caps.has('PIPELINING')).toBe(true);
  });
});

describe('POP3 error classification', () => {
  it.each([
    ['PASS', ' [IN-USE] Mailbox locked', 'IN_USE', true],
    ['PASS', ' [LOGIN-DELAY] wait', 'LOGIN_DELAY', true],
    ['RETR', ' [SYS/TEMP] try later', 'SYS_TEMP', true],
    ['RETR', ' [SYS/PERM] broken', 'SYS_PERM', false],
    ['PASS', ' [AUTH] Authentication failed.', 'AUTH', false],
    ['PASS', ' nope', 'AUTH', false],
    ['RETR', ' no such message', 'ERR', false],
    ['GREETING', ' server busy', 'ERR', true],
  ])('%s -ERR%s → %s', (cmd, text, code, retryable) => {
    const e = classifyErrResponse(cmd, text);
    expect(e).toMatchObject({ code, retryable, command: cmd });
  });

  it('socket errors: resets retryable, certificate failures not', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(classifySocketError(reset)).toMatchObject({ code: 'CONNECTION', retryable: true });
    const cert = Object.assign(new Error('unable to verify'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(classifySocketError(cert)).toMatchObject({ code: 'TLS', retryable: false });
    expect(classifySocketError(cert).cause).toBe(cert);
  });
});
