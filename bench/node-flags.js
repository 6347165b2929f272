// The node flags mailintake's CLI runs with: read from the first line of the CLI (the shebang),
// so the benches start `run` exactly as the installed command does.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `--flag` arguments of the shebang line (by default, of dist/cli/main.js). */
export function nodeFlags(line = readFileSync(join(root, 'dist/cli/main.js'), 'utf8').split('\n')[0]) {
  return line.split(/\s+/).filter((a) => a.startsWith('--'));
}

/** The CLI's flags plus any in BENCH_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`, for
 * profiling a server under load; node refuses those in NODE_OPTIONS). */
export function serverNodeFlags() {
  return [...nodeFlags(), ...(process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
}
