/**
 * `mailintake export --source NAME --out DIR [--format maildir|mbox|eml] [--mailbox M ...|--all]
 * [--since DATE] [--verify]`. Prints one JSON summary line on stdout; exit 0 when everything was
 * exported (and verified), 1 when a folder failed or verification found mismatches, 4 when the
 * source could not be reached.
 */
import { setFlagsFromString } from 'node:v8';
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { ExportMismatchError, runExport } from '../export/export.js';
import type { ExportFormat } from '../export/manifest.js';
import { Progress } from '../export/progress.js';
import { verifyExport } from '../export/reconcile.js';
import { EXIT, UsageError, resolveConfigPath } from './common.js';
import { withConfigPaths } from '../sources/registry.js';

export interface ExportArgs {
  config: string | undefined;
  source: string | undefined;
  out: string | undefined;
  format: string | undefined;
  mailbox: string[] | undefined;
  all: boolean;
  since: string | undefined;
  verify: boolean;
  progress?: boolean | undefined;
}

const FORMATS: readonly ExportFormat[] = ['maildir', 'mbox', 'eml'];

export function parseSince(s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since: "${s}" is not a date (use YYYY-MM-DD)`);
  return d;
}

/** Network-level failures (connect refused, TLS, auth) map to EXIT.UNAVAILABLE. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; authenticationFailed?: unknown };
  if (e.authenticationFailed) return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|NoConnection|EConnectionClosed|AUTH|ETIMEOUT|CONNECT|TLS|GREETING)/i.test(code); // prettier-ignore
}

/**
 * Streaming hundreds of MB makes V8 grow the young generation to its maximum (2 x 16 MB semi-spaces,
 * all resident) although almost nothing survives; with growth off it stays at 2 x 1 MB. Measured on
 * 10,000 messages: peak RSS 150 MB → 90 MB, same speed. The flag is read when V8 decides to grow,
 * so setting it at run time works; it only affects this one-shot command's process.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

export async function exportCommand(a: ExportArgs): Promise<number> {
  keepYoungGenerationSmall();
  if (!a.source) throw new UsageError('export needs --source NAME');
  if (!a.out) throw new UsageError('export needs --out DIR');
  const format = (a.format ?? 'maildir') as ExportFormat;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  if (a.all && a.mailbox?.length) throw new UsageError('use either --mailbox or --all');
  const since = parseSince(a.since);
  const { config, baseDir } = loadConfig(resolveConfigPath(a.config));
  const configured = config.sources[a.source];
  if (!configured) throw new UsageError(`no source "${a.source}" in the configuration (have: ${Object.keys(config.sources).join(', ') || 'none'})`); // prettier-ignore
  const source = withConfigPaths(configured, baseDir);
  if (source.pop3 && a.mailbox?.length) throw new UsageError('--mailbox applies to IMAP sources only');
  const log = createLogger({ level: config.log.level }).child({ cmd: 'export', source: a.source });
  const progress = a.progress === false ? undefined : new Progress({ log, label: `export ${a.source}` });
  let report;
  try {
    report = await runExport({ sourceName: a.source, source, out: a.out, format, mailboxes: a.mailbox?.length ? a.mailbox : null, since, log, progress }); // prettier-ignore
  } catch (err) {
    progress?.stop();
    if (err instanceof ExportMismatchError) throw new UsageError(err.message);
    if (isUnavailable(err)) {
      process.stderr.write(`mailintake: export: source unavailable: ${(err as Error).message}\n`);
      return EXIT.UNAVAILABLE;
    }
    process.stderr.write(`mailintake: export failed (rerun to resume): ${(err as Error).message}\n`);
    return EXIT.FAILURES;
  }
  progress?.stop();
  let code: number = report.errors.length ? EXIT.FAILURES : EXIT.OK;
  const summary: Record<string, unknown> = {
    action: 'export',
    source: a.source,
    out: a.out,
    format,
    ...report,
  };
  if (a.verify) {
    const v = await verifyExport(a.out);
    summary.verify = { checked: v.checked, mismatches: v.mismatches.length };
    for (const m of v.mismatches) process.stderr.write(`mismatch: ${m.file} (${m.folder} uid ${m.uid ?? '-'}): ${m.reason}\n`); // prettier-ignore
    if (v.mismatches.length) code = EXIT.FAILURES;
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return code;
}
