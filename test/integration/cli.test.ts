/** The CLI as users run it: replay of a Maildir and an mbox, status, retry, check, exit codes. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mboxEntry } from '../../src/core/mbox.js';
import { genMessage } from '../helpers/gen.js';
import { REPO, tempDir } from '../helpers/app.js';

const CLI = join(REPO, 'dist/cli/main.js');
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

function setup(handlersOf: (dir: string) => string) {
  const dir = tempDir();
  const handlers = handlersOf(dir);
  const cfg = join(dir, 'c.yaml');
  writeFileSync(
    cfg,
    `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }\nlog: { level: error }\npipeline: { maxAttempts: 1 }\n${handlers}`,
  );
  return { dir, cfg };
}

describe('mailintake CLI', () => {
  it('replays a Maildir and an mbox, reports status, and a second replay adds nothing', () => {
    const { dir, cfg } = setup(
      (dir) =>
        `routes: [{ name: all, handlers: [mod, files] }]\nhandlers:\n  mod: { module: { path: ${dir}/h.mjs } }\n  files: { file: { path: ${dir}/files } }\n`,
    );
    writeFileSync(
      join(dir, 'h.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function handle(m, ctx) { appendFileSync(${JSON.stringify(join(dir, 'mod.log'))}, m.sha256 + ' ' + ctx.match.route.name + ' ' + m.parsed.subject + '\\n'); }\n`,
    );
    const md = join(dir, 'md');
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
    writeFileSync(join(md, 'new', '1.eml'), genMessage(1));
    writeFileSync(join(md, 'cur', '2.eml:2,S'), genMessage(2));
    writeFileSync(join(md, 'tmp', 'partial'), 'not a finished delivery');
    const mbox = join(dir, 'box.mbox');
    const withFrom = Buffer.from(
      'Subject: from line\r\nMessage-ID: <f@x>\r\n\r\nFrom the start\r\n>From quoted\r\n',
    );
    writeFileSync(mbox, Buffer.concat([mboxEntry(genMessage(3)), mboxEntry(withFrom)]));
    const r = cli(['replay', '-c', cfg, md, mbox]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 4, added: 4, byStatus: { delivered: 4 } });
    const log = readFileSync(join(dir, 'mod.log'), 'utf8').trim().split('\n');
    expect(log).toHaveLength(4);
    const emls = readdirSync(join(dir, 'files')).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(4);
    const sidecars = readdirSync(join(dir, 'files')).filter((f) => f.endsWith('.json'));
    const fromLine = sidecars
      .map(
        (f) =>
          JSON.parse(readFileSync(join(dir, 'files', f), 'utf8')) as {
            subject: string;
            sha256: string;
            route: { name: string };
          },
      )
      .find((p) => p.subject === 'from line');
    expect(fromLine?.route.name).toBe('all');
    const eml = emls.find((f) =>
      f.startsWith(
        sidecars
          .find((s) => readFileSync(join(dir, 'files', s), 'utf8').includes('"from line"'))!
          .replace(/\.json$/, ''),
      ),
    );
    expect(readFileSync(join(dir, 'files', eml!))).toEqual(withFrom);
    const again = cli(['replay', '-c', cfg, md, mbox]);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, known: 4 });
    const st = cli(['status', '--json', '-c', cfg]);
    expect(JSON.parse(st.stdout)).toMatchObject({ byStatus: { delivered: 4 } });
  });

  it('shows dead letters with reasons, exits 1, and retry brings them back', () => {
    const { dir, cfg } = setup(
      (dir) =>
        `routes: [{ name: all, handlers: [cmd] }]\nhandlers:\n  cmd: { command: { argv: [/bin/sh, -c, "test -e $\${MARK} || exit 9; cat >/dev/null"], env: { MARK: ${dir}/ok } } }\n`,
    );
    mkdirSync(join(dir, 'in'));
    writeFileSync(join(dir, 'in', 'a.eml'), genMessage(7));
    const r = cli(['replay', '-c', cfg, join(dir, 'in')]);
    expect(r.status).toBe(1);
    const st = cli(['status', '-c', cfg]);
    expect(st.stdout).toMatch(/dead\s+1/);
    expect(st.stdout).toMatch(/recent dead letters:\n\s+#1 .*command cmd: exit 9/);
    writeFileSync(join(dir, 'ok'), '');
    expect(cli(['retry', '--dead', '-c', cfg]).status).toBe(0);
    const r2 = cli(['replay', '-c', cfg, join(dir, 'in')]);
    expect(r2.status).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ known: 1, byStatus: { delivered: 1 } });
  });

  it('exit codes: usage 2, config 3 with the field and the fix, --help 0', () => {
    expect(cli(['frobnicate']).status).toBe(2);
    expect(cli(['replay', '--bogus']).status).toBe(2);
    const help = cli(['run', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--once/);
    const { cfg } = setup(() => 'routes: [{ name: a, handlers: [nope] }]\n');
    const bad = cli(['check', '--offline', '-c', cfg]);
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(
      /routes\[0\]\.handlers: handler "nope" is not defined\. Fix: add handlers\.nope/,
    );
    const ok = cli(['check', '--offline', '-c', join(REPO, 'config/example.yaml')]);
    expect(ok.status, ok.stderr).toBe(0);
  });
});
