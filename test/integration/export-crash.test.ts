// kill -9 in the middle of `mailintake export` (the built CLI, a real child process), then rerun:
// the export completes with every message exactly once, no temp files, and --verify passes.
// Needs `npm run build` (npm test does it first).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST, readManifest } from '../../src/export/manifest.js';
import { startDovecot, uniqueUser, type Dovecot } from '../harness/dovecot.js';
import { waitFor } from '../harness/wait.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
let dc: Dovecot;
let work: string;

beforeAll(async () => {
  dc = await startDovecot();
  work = await mkdtemp(join(tmpdir(), 'mi-export-crash-'));
});
afterAll(async () => {
  await dc.close();
  await rm(work, { recursive: true, force: true });
});

function message(i: number): Buffer {
  const body = `line ${i} `.repeat(200 + (i % 50) * 40);
  return Buffer.from(
    `Message-ID: <crash-${i}@test>\r\nFrom: a@example.com\r\nSubject: crash ${i}\r\n\r\n${body}\r\n`,
  );
}

async function lines(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').length - 1;
}

function run(args: string[]): {
  done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  kill: () => void;
} {
  // prettier-ignore
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  return { done, kill: () => child.kill('SIGKILL') };
}

describe('export crash safety', () => {
  it('resumes after kill -9 without duplicates or losses', async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    const u = uniqueUser('crash');
    await dc.addUser(u.user, u.password);
    const N = 4000;
    await dc.saveMany(
      u.user,
      'INBOX',
      Array.from({ length: N }, (_, i) => message(i)),
    );
    await dc.save(u.user, 'Other', message(N));
    const cfg = join(work, 'cfg.yaml');
    await writeFile(
      cfg,
      [
        'log: { level: warn }',
        'routes: [{ name: all, action: drop }]',
        'sources:',
        '  s:',
        `    imap: { host: 127.0.0.1, port: ${dc.ports.imap}, secure: false, starttls: true, user: "${u.user}", password: "${u.password}", tls: { caFile: "${dc.caFile}", servername: localhost } }`, // prettier-ignore
        '',
      ].join('\n'),
    );
    const out = join(work, 'out');
    const args = ['export', '-c', cfg, '--source', 's', '--out', out];
    for (const threshold of [300, 1800]) {
      const first = run(args);
      await waitFor(async () => (await lines(join(out, MANIFEST))) > threshold, { timeoutMs: 60_000, what: `${threshold} manifest lines` }); // prettier-ignore
      first.kill();
      const res = await first.done;
      expect(res.signal).toBe('SIGKILL');
    }
    const before = await readManifest(join(out, MANIFEST));
    expect(before.messages.size).toBeLessThan(N + 1);

    const second = await run([...args, '--verify']).done;
    expect(second.stderr).not.toMatch(/mismatch|failed|error/i);
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout.trim()) as { written: number; verify: { checked: number; mismatches: number } }; // prettier-ignore
    expect(summary.verify).toEqual({ checked: N + 1, mismatches: 0 });

    const m = await readManifest(join(out, MANIFEST));
    const recs = [...m.messages.values()];
    expect(recs.length).toBe(N + 1);
    expect(new Set(recs.map((r) => `${r.folder}:${r.uid}`)).size).toBe(N + 1);
    expect(new Set(recs.map((r) => r.messageId)).size).toBe(N + 1);
    const files = (await readdir(join(out, 'folders'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()); // prettier-ignore
    expect(files.length).toBe(N + 1);
    expect(files.some((f) => f.name.startsWith('.tmp'))).toBe(false);

    const third = await run([...args, '--verify']).done;
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout.trim())).toMatchObject({ written: 0, planned: 0 });
  });
});
