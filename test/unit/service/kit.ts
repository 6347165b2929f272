// Test kit for the worker as a child process (test/integration/service*.test.ts): spawn
// `node dist/cli/main.js run`, scrape /healthz and /metrics, read Prometheus text, hash outputs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';

/** The built CLI; MAILINTAKE_CLI points the tests at another build. */
export const CLI = process.env.MAILINTAKE_CLI ?? resolve(import.meta.dirname, '../../../dist/cli/main.js');
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface Worker {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and the time of exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The last lines of stderr (JSON logs), for assertion messages. */
  logTail(lines?: number): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawns `node dist/cli/main.js run <args> -c <cfg>` with JSON logs on stderr. */
export function spawnWorker(cfg: string, args: readonly string[] = []): Worker {
  const child = spawn(process.execPath, [CLI, 'run', ...args, '-c', cfg], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_FORMAT: 'json' },
  });
  live.add(child);
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString('utf8');
    if (log.length > 200_000) log = log.slice(-100_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      r({ code, signal, at: Date.now() });
    }),
  );
  return {
    child,
    exited,
    logTail: (lines = 30) => log.trimEnd().split('\n').slice(-lines).join('\n'),
  };
}

/** Kills every worker still running (afterAll). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** Writes a config file (JSON is YAML). */
export async function writeConfig(path: string, cfg: Record<string, unknown>): Promise<string> {
  await writeFile(path, `${JSON.stringify(cfg, null, 2)}\n`);
  return path;
}

/** GET http://127.0.0.1:<port><path>: status and body. */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** One sample of Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format (the subset prom-client writes) into samples. */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const v = m[3]!;
    out.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels`, or undefined. */
export function metric(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const hit = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hit.length > 1) throw new Error(`${name}${JSON.stringify(labels)}: ${hit.length} samples match`);
  return hit[0]?.value;
}

/** Scrapes and parses /metrics. */
export async function scrapeMetrics(port: number): Promise<Sample[]> {
  const r = await httpGet(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  return parseMetrics(r.body);
}

/** One source as /healthz reports it. */
export interface HealthSource {
  name: string;
  kind: string;
  connected: boolean;
  lastSuccessAt: number | null;
  lastError: string | null;
  healthy: boolean;
  why: string | null;
}

/** Scrapes /healthz. */
export async function scrapeHealth(
  port: number,
): Promise<{ status: number; body: { status: string; sources: HealthSource[] } }> {
  const r = await httpGet(port, '/healthz');
  return { status: r.status, body: JSON.parse(r.body) as { status: string; sources: HealthSource[] } };
}

/** Contents of the files in `dir` ending with `ext` (missing dir: none). */
export async function readOutputs(dir: string, ext = '.eml'): Promise<Buffer[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(ext));
  return Promise.all(names.map((n) => readFile(join(dir, n))));
}

/** sha256 → how many of the buffers have it. */
export function countBySha(bufs: readonly Buffer[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const b of bufs) {
    const h = sha(b);
    m.set(h, (m.get(h) ?? 0) + 1);
  }
  return m;
}
