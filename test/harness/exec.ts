// Run a helper program (doveadm, openssl, postfix tools) without a shell, collecting its output.
import { spawn } from 'node:child_process';

/** Result of {@link run}: exit code, raw stdout bytes and stderr text. */
export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs `cmd args` with optional stdin bytes; never throws on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], input?: Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.stdin.on('error', () => undefined);
    child.once('close', (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

/** Like {@link run} but rejects with the command line and stderr when the exit code is not 0. */
export async function runOk(cmd: string, args: readonly string[], input?: Buffer): Promise<RunResult> {
  const res = await run(cmd, args, input);
  if (res.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${res.code}: ${res.stderr.trim()}`);
  }
  return res;
}
