import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { errorText } from '../../../src/sources/imap/supervisor.js';
import { withConfigPaths } from '../../../src/sources/registry.js';

const config = validateConfig({
  store: { sqlite: '/tmp/x.sqlite', spool: '/tmp/spool', attachments: '/tmp/att' },
  sources: {
    box: {
      imap: { host: 'imap.example', user: 'u', password: 'p', tls: { caFile: './ca.pem' } },
    },
    pop: {
      pop3: { host: 'pop.example', user: 'u', password: 'p', tls: { caFile: '../certs/ca.pem' } },
    },
    plain: { pop3: { host: 'pop.example', user: 'u', password: 'p' } },
  },
  routes: [{ name: 'all', handlers: ['out'] }],
  handlers: { out: { maildir: { path: '/tmp/out' } } },
});

describe('withConfigPaths (export and restore build their clients from it)', () => {
  it('resolves tls.caFile against the config directory, not the working directory', () => {
    expect(withConfigPaths(config.sources.box!, '/etc/mailintake').imap!.tls.caFile).toBe(
      '/etc/mailintake/ca.pem',
    );
    expect(withConfigPaths(config.sources.pop!, '/etc/mailintake').pop3!.tls.caFile).toBe(
      '/etc/certs/ca.pem',
    );
  });
  it('keeps absolute paths, leaves an unset caFile unset and does not modify the config', () => {
    const abs = {
      ...config.sources.box!,
      imap: { ...config.sources.box!.imap!, tls: { caFile: '/x/ca.pem' } },
    };
    expect(withConfigPaths(abs as typeof config.sources.box & object, '/etc').imap!.tls.caFile).toBe(
      '/x/ca.pem',
    );
    expect(withConfigPaths(config.sources.plain!, '/etc').pop3!.tls.caFile).toBeUndefined();
    expect(config.sources.box!.imap!.tls.caFile).toBe('./ca.pem');
  });
});

describe('errorText', () => {
  it('names a system error code once', () => {
    const err = Object.assign(new Error("ENOENT: no such file or directory, open '/x/ca.pem'"), {
      code: 'ENOENT',
    });
    expect(errorText(err)).toBe("ENOENT: no such file or directory, open '/x/ca.pem'");
  });
  it('prefixes a code the message does not carry, and adds the server reply', () => {
    const err = Object.assign(new Error('Command failed'), { code: 'NoConnection', responseText: 'bye' });
    expect(errorText(err)).toBe('NoConnection: Command failed (server: bye)');
  });
});
