/**
 * `mailintake restore --source NAME --from DIR [--mailbox M ...]`: APPEND an export back into an
 * IMAP source. Safe to repeat: messages already present (by Message-ID + SHA-256) are skipped.
 * Exit 0 on success, 1 when a message could not be restored, 4 when the server is unreachable.
 */
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { Progress } from '../export/progress.js';
import { runRestore } from '../export/restore.js';
import { EXIT, UsageError, resolveConfigPath } from './common.js';
import { isUnavailable, keepYoungGenerationSmall } from './export.js';
import { withConfigPaths } from '../sources/registry.js';

export interface RestoreArgs {
  config: string | undefined;
  source: string | undefined;
  from: string | undefined;
  mailbox: string[] | undefined;
  progress?: boolean | undefined;
}

export async function restoreCommand(a: RestoreArgs): Promise<number> {
  keepYoungGenerationSmall();
  if (!a.source) throw new UsageError('restore needs --source NAME');
  if (!a.from) throw new UsageError('restore needs --from DIR');
  const { config, baseDir } = loadConfig(resolveConfigPath(a.config));
  const configured = config.sources[a.source];
  if (!configured) throw new UsageError(`no source "${a.source}" in the configuration`);
  const source = withConfigPaths(configured, baseDir);
  if (!source.imap) throw new UsageError('restore needs an IMAP source (POP3 cannot store messages)');
  const log = createLogger({ level: config.log.level }).child({ cmd: 'restore', source: a.source });
  const progress = a.progress === false ? undefined : new Progress({ log, label: `restore ${a.source}` });
  try {
    const report = await runRestore({ imap: source.imap, from: a.from, log, progress, mailboxes: a.mailbox?.length ? a.mailbox : null }); // prettier-ignore
    progress?.stop();
    for (const e of report.errors)
      process.stderr.write(`restore error: ${e.folder} ${e.file ?? ''}: ${e.error}\n`);
    process.stdout.write(
      `${JSON.stringify({ action: 'restore', source: a.source, from: a.from, ...report })}\n`,
    );
    return report.errors.length ? EXIT.FAILURES : EXIT.OK;
  } catch (err) {
    progress?.stop();
    if (isUnavailable(err)) {
      process.stderr.write(`mailintake: restore: source unavailable: ${(err as Error).message}\n`);
      return EXIT.UNAVAILABLE;
    }
    throw err;
  }
}
