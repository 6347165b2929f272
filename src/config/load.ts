/**
 * Loads one YAML file: `${ENV}` / `${ENV:-default}` interpolation in string values, `<key>_file`
 * secrets (file content, trailing newline trimmed, becomes `<key>`), schema validation with
 * errors that name the field and the fix, then cross-checks (handlers referenced by routes exist,
 * a catch-all route is last).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { isCatchAll } from '../core/router.js';
import { configSchema, type Config } from './schema.js';

export interface LoadedConfig {
  config: Config;
  path: string;
  baseDir: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function interpolate(value: Json, path: string, env: NodeJS.ProcessEnv, baseDir: string): Json {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_m, name: string | undefined, def?: string) => {
        if (name === undefined) return '${'; // "$${" stands for a literal "${"
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (def !== undefined) return def;
        throw new ConfigError(
          path,
          `environment variable ${name} is not set`,
          `export ${name}=... or use \${${name}:-default}`,
        );
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, `${path}[${i}]`, env, baseDir));
  if (value && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      const iv = interpolate(v, p, env, baseDir);
      if (k.endsWith('_file') && typeof iv === 'string') {
        const target = k.slice(0, -'_file'.length);
        const file = isAbsolute(iv) ? iv : resolve(baseDir, iv);
        try {
          out[target] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          throw new ConfigError(
            p,
            `cannot read secret file ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
            `create the file or fix the path`,
          );
        }
      } else {
        out[k] = iv;
      }
    }
    return out;
  }
  return value;
}

function issuePath(issue: z.core.$ZodIssue): string {
  return (
    issue.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(root)'
  );
}

function fixFor(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `remove ${issue.keys.map((k) => `"${k}"`).join(', ')} or check the spelling against config/example.yaml`;
    case 'invalid_type':
      return `set it to a ${issue.expected} (see config/example.yaml)`;
    case 'invalid_value':
      return `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `give at least ${String(issue.minimum)}`;
    case 'invalid_union':
      return 'check this entry against config/example.yaml';
    default:
      return 'see config/example.yaml for the expected form';
  }
}

export function validateConfig(input: unknown): Config {
  const res = configSchema.safeParse(input);
  if (!res.success) {
    const issues = res.error.issues;
    const first = issues[0]!;
    const err = new ConfigError(issuePath(first), first.message, fixFor(first));
    (err as ConfigError & { all: string[] }).all = issues.map(
      (i) => `${issuePath(i)}: ${i.message}. Fix: ${fixFor(i)}`,
    );
    throw err;
  }
  const cfg = res.data;
  cfg.routes.forEach((r, i) => {
    for (const h of r.handlers) {
      if (!cfg.handlers[h]) {
        throw new ConfigError(
          `routes[${i}].handlers`,
          `handler "${h}" is not defined`,
          `add handlers.${h} or remove it from the route`,
        );
      }
    }
    if (r.action === 'deliver' && r.handlers.length === 0) {
      throw new ConfigError(
        `routes[${i}].handlers`,
        `route "${r.name}" delivers to no handler`,
        'list at least one handler, or set action: drop',
      );
    }
  });
  const last = cfg.routes[cfg.routes.length - 1]!;
  if (!isCatchAll(last)) {
    throw new ConfigError(
      `routes[${cfg.routes.length - 1}]`,
      'the last route must be a catch-all (no to/from/subject/headers/when)',
      'add a catch-all route last, e.g. { name: everything-else, handlers: [archive] }, so no message is unrouted',
    );
  }
  for (const [name, s] of Object.entries(cfg.sources)) {
    const p = s.imap ?? s.pop3;
    if (p && !p.password && !p.accessToken && !p.oauth2) {
      throw new ConfigError(
        `sources.${name}.${s.imap ? 'imap' : 'pop3'}.password`,
        'no credentials',
        'set password (or password_file), accessToken or oauth2',
      );
    }
  }
  return cfg;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(
      '--config',
      `cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'pass --config FILE or create config/mailintake.yaml (copy config/example.yaml)',
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      abs,
      `YAML syntax error: ${(err as Error).message.split('\n')[0]}`,
      'fix the YAML syntax at the line shown',
    );
  }
  const baseDir = dirname(abs);
  const interpolated = interpolate((doc ?? {}) as Json, '', env, baseDir);
  const config = validateConfig(interpolated);
  // Files the config reads resolve against its own directory, whoever reads them later.
  for (const s of Object.values(config.sources)) {
    const server = s.imap ?? s.pop3;
    if (server?.tls.caFile) server.tls.caFile = resolve(baseDir, server.tls.caFile);
  }
  // Relative paths in the config are relative to the working directory (documented).
  return { config, path: abs, baseDir };
}
