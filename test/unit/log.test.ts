import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

describe('logger', () => {
  it('redacts secrets by path in JSON output', () => {
    let out = '';
    const dest = new Writable({
      write(c: Buffer, _e, cb) {
        out += c.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: dest });
    log.info(
      { password: 'pw-1', auth: { pass: 'pw-2', accessToken: 'tok-3' }, imap: { password: 'pw-4' } },
      'login',
    );
    log.info(
      { headers: { authorization: 'Bearer tok-5' }, handler: { webhook: { secret: 'sec-6' } } },
      'request',
    );
    log.info({ oauth2: { refreshToken: 'rt-7', clientSecret: 'cs-8' } }, 'token');
    for (const s of ['pw-1', 'pw-2', 'tok-3', 'pw-4', 'tok-5', 'sec-6', 'rt-7', 'cs-8'])
      expect(out).not.toContain(s);
    expect(out).toContain('[REDACTED]');
    expect(JSON.parse(out.split('\n')[0]!)).toMatchObject({ msg: 'login', level: 30 });
  });
});
