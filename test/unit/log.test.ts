import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '../../src/log.js';

/** A logger as the CLI makes it, writing into a string. */
function captured() {
  const sink = { text: '' };
  const dest = new Writable({
    write(c: Buffer, _e, cb) {
      sink.text += c.toString();
      cb();
    },
  });
  const log = createLogger({ level: 'info', destination: dest });
  return { log, out: () => sink.text };
}

describe('logger', () => {
  it('censors secrets by field name in JSON output', () => {
    const { log, out } = captured();
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
      expect(out()).not.toContain(s);
    expect(out()).toContain('[REDACTED]');
    expect(JSON.parse(out().split('\n')[0]!)).toMatchObject({ msg: 'login', level: 30 });
  });

  it('censors secrets at three levels, in errors and child bindings, without touching the caller object', () => {
    const { log, out } = captured();
    const obj = {
      user: 'u1',
      source: { oauth2: { clientSecret: 'cs-1', user: 'u2' } },
      list: [{ token: 'tk-2' }],
      data: Buffer.from('kept'),
    };
    log.info(obj, 'nested');
    const err = Object.assign(new Error('login failed'), { code: 'AUTH', password: 'pw-3' });
    log.error({ err }, 'failed');
    const outer = new Error('fetch failed', { cause: Object.assign(new Error('auth'), { token: 'tk-6' }) });
    log.error({ err: outer }, 'caused');
    log.child({ auth: { pass: 'pw-4' }, mod: 'x' }).info({ ok: true }, 'child');
    // Deeper than three levels is not searched (as with the path list it replaces).
    log.info({ a: { b: { c: { password: 'deep-5' } } } }, 'deep');
    for (const s of ['cs-1', 'tk-2', 'pw-3', 'pw-4', 'tk-6']) expect(out()).not.toContain(s);
    const [nested, failed, , child] = out()
      .split('\n')
      .map((l) => (l ? JSON.parse(l) : null));
    // pino's error serializer prints a cause's message and stack, not its fields; the censored copy
    // has them censored anyway (a serializer that prints them gets no secret), the original not.
    const copy = redactSecrets({ err: outer });
    expect((copy.err.cause as { token: string }).token).toBe('[REDACTED]');
    expect(copy.err).toBeInstanceOf(Error);
    expect((outer.cause as { token: string }).token).toBe('tk-6');
    expect(nested).toMatchObject({
      user: 'u1',
      source: { oauth2: { clientSecret: '[REDACTED]', user: 'u2' } },
      list: [{ token: '[REDACTED]' }],
    });
    expect(failed.err).toMatchObject({
      type: 'Error',
      message: 'login failed',
      code: 'AUTH',
      password: '[REDACTED]',
    });
    expect(failed.err.stack).toContain('login failed');
    expect(child).toMatchObject({ auth: { pass: '[REDACTED]' }, mod: 'x', ok: true });
    expect(out()).toContain('deep-5');
    // The caller's objects are unchanged.
    expect(obj.source.oauth2.clientSecret).toBe('cs-1');
    expect(obj.list[0]!.token).toBe('tk-2');
    expect(err.password).toBe('pw-3');
  });
});
