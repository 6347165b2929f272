// Shared kit for the fault, property and security suites: the built CLI (dist/, or a snapshot named
// by $MAILINTAKE_CLI), worker processes with captured output, a read-only view of the SQLite ledger,
// and small byte helpers. No sleeps: everything waits on a condition with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { RawSmtp } from '../harness/smtp-clients.js';

/** The worker entry point: `$MAILINTAKE_CLI` (a private build) or the repository's dist/. */
export const CLI = process.env.MAILINTAKE_CLI ?? resolve(import.meta.dirname, '../../dist/cli/main.js');
export const HAVE_CLI = existsSync(CLI);
export const IS_ROOT = process.getuid?.() === 0;
/** Long form of the fault suite (10,000 messages, >= 100 kills and faults). */
export const LONG = process.env.FAULT_LONG === '1';

export const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A worker process whose stdout+stderr are kept in memory (for secret scans and failure messages). */
/**
 * Sends each message (MAIL FROM a@c.test, RCPT TO in@example.test) on a connection of its own, in
 * order, recording its final reply code in `codes` by token (a resend overwrites it). Returns the
 * messages that did not get 250: what a sender would retry.
 */
export async function sendEach<M extends { raw: Buffer; token: string }>(
  port: number,
  msgs: readonly M[],
  codes: Map<string, number>,
): Promise<M[]> {
  for (const m of msgs)
    codes.set(m.token, await RawSmtp.sendOnce(port, 'a@c.test', ['in@example.test'], m.raw));
  return msgs.filter((m) => codes.get(m.token) !== 250);
}

export interface Worker {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM and wait (SIGKILL after `ms`). */
  stop(ms?: number): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function startWorker(args: string[], env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
  });
  live.add(child);
  const chunks: Buffer[] = [];
  let size = 0;
  const keep = (c: Buffer): void => {
    chunks.push(c);
    size += c.length;
    // Keep the last ~8 MB only: a long run logs a lot.
    while (size > 8 * 1024 * 1024 && chunks.length > 1) size -= chunks.shift()!.length;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      live.delete(child);
      r(code);
    }),
  );
  return {
    child,
    exited,
    output: () => Buffer.concat(chunks).toString('utf8'),
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop(ms = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Runs the CLI to completion; returns exit code and combined output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const w = startWorker(args, env);
  const t = setTimeout(() => w.child.kill('SIGKILL'), timeoutMs);
  const code = await w.exited;
  clearTimeout(t);
  return { code, output: w.output() };
}

/** One ledger row, as stored. */
export interface LedgerRow {
  id: number;
  position_key: string;
  source: string;
  sha256: string;
  status: string;
  reason: string | null;
  duplicate_of: number | null;
  settled_at: number | null;
  settle_action: string | null;
}

/** Reads the whole ledger read-only (call after the worker stopped). */
export function readLedger(dbPath: string): LedgerRow[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        'SELECT id, position_key, source, sha256, status, reason, duplicate_of, settled_at, settle_action FROM messages',
      )
      .all() as LedgerRow[];
  } finally {
    db.close();
  }
}

/** Every encoding of a secret a log line could leak it in (plain, base64 alone and in SASL forms). */
export function secretForms(secret: string, user?: string): string[] {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const forms = [secret, b64(secret), encodeURIComponent(secret)];
  if (user !== undefined) {
    forms.push(b64(`\0${user}\0${secret}`), b64(`${user}\0${user}\0${secret}`));
    forms.push(b64(`user=${user}\x01auth=Bearer ${secret}\x01\x01`));
  }
  // base64 of the secret at each of the three alignments inside a longer blob
  for (const pad of ['', 'x', 'xy']) {
    const full = b64(`${pad}${secret}`);
    const skip = Math.ceil((pad.length * 4) / 3);
    forms.push(full.slice(skip + 4, full.length - 4));
  }
  return forms.filter((f) => f.length >= 8);
}
