/**
 * kill -9 during a replay of 1,000 messages, then run again: every message handled exactly once
 * (the Maildir handler names files by idempotency key; we count by content hash), none lost.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { genMessage } from '../helpers/gen.js';
import { REPO, tempDir } from '../helpers/app.js';

const CLI = join(REPO, 'dist/cli/main.js');

function runReplay(
  cfg: string,
  input: string,
  killAfterMs: number | null,
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'replay', '-c', cfg, input], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    let timer: NodeJS.Timeout | null = null;
    if (killAfterMs !== null) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('crash safety of replay', () => {
  it(
    'kill -9 at random points, rerun: each of 1,000 messages handled exactly once',
    { timeout: 300_000 },
    async () => {
      const dir = tempDir();
      const input = join(dir, 'in');
      mkdirSync(input);
      const shas = new Set<string>();
      for (let i = 0; i < 1000; i++) {
        const raw = genMessage(i, { size: 2000 + (i % 10) * 500 });
        shas.add(createHash('sha256').update(raw).digest('hex'));
        writeFileSync(join(input, `${String(i).padStart(4, '0')}.eml`), raw);
      }
      const cfg = join(dir, 'c.yaml');
      writeFileSync(
        cfg,
        `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }\nlog: { level: warn }\nroutes: [{ name: all, handlers: [out] }]\nhandlers: { out: { maildir: { path: ${dir}/out } } }\n`,
      );
      let kills = 0;
      for (let round = 0; round < 6; round++) {
        const r = await runReplay(cfg, input, 300 + Math.floor(Math.random() * 900));
        if (r.signal === 'SIGKILL') kills++;
        else break;
      }
      const final = await runReplay(cfg, input, null);
      expect(final.code).toBe(0);
      const files = readdirSync(join(dir, 'out/new'));
      const delivered = new Map<string, number>();
      for (const f of files) {
        const h = createHash('sha256')
          .update(readFileSync(join(dir, 'out/new', f)))
          .digest('hex');
        delivered.set(h, (delivered.get(h) ?? 0) + 1);
      }
      console.log(`replay crash test: ${kills} kill -9, ${files.length} files delivered`);
      expect(kills).toBeGreaterThan(0);
      expect(files.length).toBe(1000);
      expect([...delivered.values()].every((n) => n === 1)).toBe(true);
      expect(new Set(delivered.keys())).toEqual(shas);
      expect(readdirSync(join(dir, 'out/tmp')).filter((f) => !f.startsWith('.tmp-')).length).toBe(0);
    },
  );
});
