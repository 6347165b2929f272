// npm run bench: pipeline throughput on 10,000 generated mixed messages (5-50 KB) and peak RSS,
// and peak RSS for one 50 MB message. Each case runs in a fresh process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigMessage, mixedMessage } from './gen.js';

const N = Number(process.env.BENCH_MESSAGES ?? 10_000);
const root = mkdtempSync(join(tmpdir(), 'mi-bench-'));
const child = join(import.meta.dirname, 'pipeline-child.js');

function run(input, label) {
  const work = join(root, `work-${label}`);
  mkdirSync(work);
  const out = execFileSync(process.execPath, [child, input, work], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

const mixed = join(root, 'mixed');
mkdirSync(mixed);
let bytes = 0;
for (let i = 0; i < N; i++) {
  const m = mixedMessage(i);
  bytes += m.length;
  writeFileSync(join(mixed, `${String(i).padStart(6, '0')}.eml`), m);
}
const big = join(root, 'big');
mkdirSync(big);
writeFileSync(join(big, 'big.eml'), bigMessage(50 * 1024 * 1024));

const a = run(mixed, 'mixed');
const b = run(big, 'big');
console.log(
  `pipeline bench (node ${process.version}, ${new Date().toISOString()}, handler ${process.env.BENCH_HANDLER ?? 'maildir'})`,
);
console.log(`| case | messages | MB in | seconds | messages/s | peak RSS MB |`);
console.log(`|---|---|---|---|---|---|`);
console.log(
  `| mixed 5-50 KB | ${a.messages} | ${(bytes / 1e6).toFixed(1)} | ${a.seconds} | ${a.rate} | ${a.maxRssMB} |`,
);
console.log(`| one 50 MB message | 1 | 50 | ${b.seconds} | - | ${b.maxRssMB} |`);
console.log(JSON.stringify({ mixed: a, big: b }));
if (!process.env.BENCH_KEEP) rmSync(root, { recursive: true, force: true });
