// Start-up of `mailintake run --once` with a POP3 source: milliseconds from spawning the CLI (with
// its node flags) to its TCP connection reaching the POP3 server, here a bare listener that accepts
// and closes (the run then fails, which does not matter). Each start is its own process.
//
//   npm run build && node bench/start-to-connect.js [--runs 7]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverNodeFlags } from './node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ri = process.argv.indexOf('--runs');
const RUNS = ri > 0 ? Number(process.argv[ri + 1]) : 7;
const dir = mkdtempSync(join(tmpdir(), 'mi-start-'));
let t0 = 0;
const times = [];
const server = createServer((s) => {
  times.push(performance.now() - t0);
  s.destroy();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const cfg = join(dir, 'cfg.yaml');
writeFileSync(
  cfg,
  [
    `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }`,
    'log: { level: fatal }',
    'sources:',
    '  box:',
    `    pop3: { host: 127.0.0.1, port: ${server.address().port}, secure: false, starttls: false, user: u, password: p }`,
    'routes: [{ name: all, handlers: [md] }]',
    `handlers: { md: { maildir: { path: ${dir}/Maildir } } }`,
    '',
  ].join('\n'),
);
for (let i = 0; i < RUNS; i++) {
  t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...serverNodeFlags(), join(root, 'dist/cli/main.js'), 'run', '--once', '-c', cfg],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => child.on('exit', resolve));
}
server.close();
rmSync(dir, { recursive: true, force: true });
const sorted = [...times].sort((a, b) => a - b);
console.log(
  `spawn → POP3 connect, ${times.length} starts: ${times.map((t) => t.toFixed(0)).join(' ')} ms (median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)})`,
);
