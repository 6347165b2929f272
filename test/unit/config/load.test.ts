import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/core/errors.js';
import { REPO, tempDir } from '../../helpers/app.js';

function write(yaml: string): string {
  const dir = tempDir();
  const p = join(dir, 'c.yaml');
  writeFileSync(p, yaml);
  return p;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const BASE = `routes: [{ name: all, handlers: [out] }]\nhandlers: { out: { maildir: { path: ./o } } }\n`;

describe('loadConfig', () => {
  it('loads the documented example', () => {
    const { config } = loadConfig(join(REPO, 'config/example.yaml'));
    expect(config.push?.listen).toBe('127.0.0.1:2525');
    expect(config.routes.at(-1)?.name).toBe('everything-else');
    expect(config.pipeline.backoffBase).toBe(10_000);
  });

  it('interpolates ${ENV} and ${ENV:-default}, and reads *_file secrets', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret'), 's3cret\n');
    const p = join(dir, 'c.yaml');
    writeFileSync(
      p,
      `${BASE}handlers:\n  out: { webhook: { url: "\${HOOK_URL}", secret_file: ./secret, timeout: "\${T:-5s}" } }\n`.replace(
        /handlers: \{ out: \{ maildir: \{ path: \.\/o \} \} \}\n/,
        '',
      ),
    );
    const { config } = loadConfig(p, { HOOK_URL: 'https://h.example/x' });
    expect(config.handlers.out?.webhook).toMatchObject({
      url: 'https://h.example/x',
      secret: 's3cret',
      timeout: 5000,
    });
  });

  it('names the field and the fix', () => {
    const e1 = errorOf(() => loadConfig(write(`${BASE}pipeline: { concurency: 3 }\n`)));
    expect(e1.path).toBe('pipeline');
    expect(e1.message).toMatch(/concurency/);
    expect(e1.fix).toMatch(/remove "concurency"/);

    const e2 = errorOf(() => loadConfig(write(`${BASE}pipeline: { backoffBase: soon }\n`)));
    expect(e2.path).toBe('pipeline.backoffBase');
    expect(e2.message).toMatch(/not a duration/);

    const e3 = errorOf(() =>
      loadConfig(
        write(
          `routes: [{ name: a, subject: x, handlers: [out] }]\nhandlers: { out: { maildir: { path: ./o } } }\n`,
        ),
      ),
    );
    expect(e3.path).toBe('routes[0]');
    expect(e3.fix).toMatch(/catch-all/);

    const e4 = errorOf(() => loadConfig(write(`routes: [{ name: a, handlers: [nope] }]\n`)));
    expect(e4.path).toBe('routes[0].handlers');

    const e5 = errorOf(() =>
      loadConfig(
        write(
          `${BASE}handlers: { out: { webhook: { url: "\${MISSING_VAR}" } } }\n`.replace(
            /handlers: \{ out: \{ maildir: \{ path: \.\/o \} \} \}\n/,
            '',
          ),
        ),
        {},
      ),
    );
    expect(e5.path).toBe('handlers.out.webhook.url');
    expect(e5.fix).toMatch(/export MISSING_VAR/);

    const e6 = errorOf(() => loadConfig(write(`${BASE}sources: { s: { imap: { host: h, user: u } } }\n`)));
    expect(e6.path).toBe('sources.s.imap.password');
  });
});
