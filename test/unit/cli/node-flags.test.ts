/**
 * The V8 heap flags the CLI runs with (src/cli/main.ts, first line) are the ones `npm start`, the
 * systemd unit and the Docker image pass, and the benches use (bench/node-flags.js reads them from
 * the built file).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS helper of the benches, no types
import { nodeFlags } from '../../../bench/node-flags.js';

const shebang = readFileSync(new URL('../../../src/cli/main.ts', import.meta.url), 'utf8').split('\n')[0]!;
/** The flags between `node` and the script. */
const flags = (line: string) => {
  const words = line.split(/\s+/);
  const out: string[] = [];
  for (const w of words.slice(words.indexOf('node') + 1)) {
    if (!w.startsWith('--')) break;
    out.push(w);
  }
  return out;
};

describe('node flags', () => {
  it('are set in the shebang and equal in npm start', () => {
    expect(shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    expect(flags(shebang)).toEqual(['--max-semi-space-size=4', '--initial-old-space-size=64']);
    const start = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        scripts: { start: string };
      }
    ).scripts.start;
    expect(flags(start)).toEqual(flags(shebang));
  });
  it('are in the systemd unit and the Dockerfile', () => {
    const unit = readFileSync(new URL('../../../deploy/mailintake.service', import.meta.url), 'utf8');
    expect(flags(/^ExecStart=(.*)$/m.exec(unit)![1]!.replace('/usr/bin/node', 'node'))).toEqual(
      flags(shebang),
    );
    const docker = readFileSync(new URL('../../../Dockerfile', import.meta.url), 'utf8');
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(docker)![1]!) as string[];
    expect(flags(entry.join(' '))).toEqual(flags(shebang));
  });
  it('are what the benches pass', () => {
    expect(nodeFlags(shebang)).toEqual(flags(shebang));
  });
});
