/**
 * The README's Quick start, as written: `mailintake run --push` with config/example.yaml in a fresh
 * working directory, a message sent with swaks, the message in ./data/inbox/new, status, SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isListening, waitFor } from '../harness/wait.js';
import { swaks } from '../harness/smtp-clients.js';
import { REPO, tempDir } from '../helpers/app.js';

const CLI = join(REPO, 'dist/cli/main.js');

describe('README quick start', () => {
  it(
    'the push listener on 127.0.0.1:2525 delivers to ./data/inbox and stops cleanly',
    { timeout: 60_000 },
    async () => {
      if (await isListening(2525)) throw new Error('port 2525 is taken: the quick start needs it');
      const cwd = tempDir('mi-quickstart-');
      mkdirSync(join(cwd, 'config'));
      copyFileSync(join(REPO, 'config/example.yaml'), join(cwd, 'config/example.yaml'));
      const child = spawn(process.execPath, [CLI, 'run', '--push'], {
        cwd,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LOG_FORMAT: 'json' },
      });
      let log = '';
      child.stderr.on('data', (d: Buffer) => (log += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      try {
        await waitFor(() => isListening(2525), { timeoutMs: 20_000, what: 'push listener on 2525' });
        const r = await swaks([
          '--server',
          '127.0.0.1:2525',
          '--to',
          'someone@example.test',
          '--from',
          'me@example.com',
          '--body',
          'hello quick start',
        ]);
        expect(r.code, r.stdout.toString()).toBe(0);
        const relay = await swaks([
          '--server',
          '127.0.0.1:2525',
          '--to',
          'victim@gmail.com',
          '--from',
          'me@example.com',
          '-q',
          'rcpt',
        ]);
        expect(relay.stdout.toString()).toMatch(/<\*\* +550/);
        const inbox = join(cwd, 'data/inbox/new');
        await waitFor(() => readdirSync(inbox, { withFileTypes: true }).length === 1, {
          timeoutMs: 20_000,
          what: 'delivery',
        }).catch((e: unknown) => {
          throw new Error(`${String(e)}\n${log}`);
        });
        const [file] = readdirSync(inbox);
        expect(readFileSync(join(inbox, file!), 'latin1')).toMatch(
          /^Received: from .*\r\n[\s\S]*hello quick start/,
        );
        const st = spawnSync(process.execPath, [CLI, 'status', '--json'], { cwd, encoding: 'utf8' });
        expect(JSON.parse(st.stdout)).toMatchObject({ byStatus: { delivered: 1 } });
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    },
  );
});
