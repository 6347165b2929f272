/**
 * Command handler: spawns a program WITHOUT a shell (argv array), writes the raw message (or the
 * JSON payload) to stdin. Exit 0 = ok, 75 (EX_TEMPFAIL) = retry, anything else = permanent.
 * Message data reaches the program only through stdin and MAILINTAKE_* variables, never argv.
 */
import { spawn } from 'node:child_process';
import { PermanentError, TemporaryError } from '../core/errors.js';
import { buildPayload } from '../core/payload.js';
import { deadline } from '../core/deadline.js';
import type { Handler } from './types.js';

export interface CommandOptions {
  argv: string[];
  input: 'raw' | 'json';
  timeoutMs: number;
  cwd?: string | undefined;
  env?: Record<string, string> | undefined;
}

export const EX_TEMPFAIL = 75;

export function createCommandHandler(name: string, opts: CommandOptions): Handler {
  const [file, ...args] = opts.argv;
  if (!file) throw new Error(`handler ${name}: command.argv is empty`);
  return {
    name,
    needsBody: opts.input !== 'raw',
    // Raw input: stdin is the bytes, the environment carries only ids (no header field).
    needsHeaders: opts.input !== 'raw',
    handle(msg, call) {
      const stdin =
        opts.input === 'raw'
          ? msg.raw
          : Buffer.from(
              JSON.stringify(buildPayload(msg, call.match, call.idempotencyKey, { includeRaw: true })),
            );
      return new Promise<void>((resolve, reject) => {
        const limit = deadline(call.signal, opts.timeoutMs);
        const child = spawn(file, args, {
          shell: false,
          cwd: opts.cwd,
          stdio: ['pipe', 'ignore', 'pipe'],
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            ...(opts.env ?? {}),
            MAILINTAKE_ID: String(msg.id),
            MAILINTAKE_IDEMPOTENCY_KEY: call.idempotencyKey,
            MAILINTAKE_ROUTE: call.match.route.name,
            MAILINTAKE_SHA256: msg.sha256,
          },
          signal: limit.signal,
          killSignal: 'SIGKILL',
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          if (stderr.length < 2000) stderr += d.toString('utf8');
        });
        child.stdin.on('error', () => undefined); // EPIPE when the program does not read stdin
        child.stdin.end(stdin);
        child.on('error', (err) => {
          // Killed on abort/timeout: a grandchild still holding stderr would keep the pipe (and the
          // worker's event loop) open until it exits; we are done reading, so let go of it.
          child.stderr.destroy();
          const code = (err as NodeJS.ErrnoException).code;
          if (err.name === 'AbortError')
            reject(new TemporaryError(`command ${name}: timed out`, 'TIMEOUT', err));
          else if (code === 'ENOENT' || code === 'EACCES')
            reject(new PermanentError(`command ${name}: ${err.message}`, code, err));
          else reject(new TemporaryError(`command ${name}: ${err.message}`, code ?? 'SPAWN', err));
        });
        child.on('close', (codeOrNull, signal) => {
          limit.dispose();
          if (codeOrNull === 0) return resolve();
          const detail = `command ${name}: exit ${codeOrNull ?? signal}${stderr ? `: ${stderr.trim().slice(0, 300)}` : ''}`;
          if (codeOrNull === EX_TEMPFAIL || codeOrNull === null)
            reject(new TemporaryError(detail, 'EXIT_TEMP'));
          else reject(new PermanentError(detail, `EXIT_${codeOrNull}`));
        });
      });
    },
  };
}
