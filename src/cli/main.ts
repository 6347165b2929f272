#!/usr/bin/env -S node --max-semi-space-size=4 --initial-old-space-size=64
/**
 * mailintake command line. One file per command's logic; this file parses argv and maps errors
 * to exit codes.
 *
 * The V8 heap flags of the first line (also in `npm start`; test/unit/cli/node-flags.test.ts keeps
 * them equal): with V8's defaults, a listener that waits on fsyncs between messages has a young
 * generation of up to 2 x 16 MB and an old generation limit of ~42 MB, and V8 starts a full
 * mark-compact every ~45 messages because the free old space is smaller than the young generation.
 * A 4 MB young generation and a 64 MB initial old space: 107 -> 4 mark-compacts per 3,000
 * messages, +12 % (1 sender) and +20 % (8 senders) SMTP throughput, peak RSS +10 MB
 * (bench/README.md). Run as `node dist/cli/main.js`, pass the same flags to node.
 */
import './env.js';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.js';
import { EXIT, UsageError, load, printConfigError, resolveConfigPath } from './common.js';
// Each command's modules (and their dependencies: mailparser, imapflow, smtp-server...) are
// imported when that command runs, so start-up loads only what it uses.

const HELP: Record<string, string> = {
  '': `Usage: mailintake <command> [options]

Commands:
  run       start the worker: pull sources, IDLE, retries (--push: SMTP listener, --once: one pass)
  replay    feed files, directories, Maildirs or mbox files through the pipeline
  status    counts by status, unsettled messages, recent dead letters with reasons
  retry     put a dead message (or all with --dead) back into the pipeline
  check     validate the configuration, log in to each source, list capabilities and folders
  export    back up a source (read-only, incremental, resumable) to maildir, mbox or eml + manifest
  restore   APPEND an export back into an IMAP source (skips what is already there)
  threads   remember (add) or look up (get) which ticket a sent Message-ID belongs to

Common options:
  -c, --config FILE   configuration (default: config/mailintake.yaml, else config/example.yaml;
                      or $MAILINTAKE_CONFIG)
  -h, --help          help for a command: mailintake <command> --help

Exit codes:
  0 success; 1 ran but something failed (dead messages, a source error); 2 usage error;
  3 invalid configuration; 4 a source could not be reached; 70 internal error.
`,
  run: `Usage: mailintake run [--push] [--once] [-c FILE]
  --push   also listen for SMTP (push.listen, default 127.0.0.1:2525)
  --once   run each pull source once, wait for the outcomes, settle, exit (1 if anything failed)
Stops gracefully on SIGTERM/SIGINT within shutdownTimeout; a second signal forces exit.`,
  replay: `Usage: mailintake replay [--again] [-c FILE] <file|dir|maildir|mbox>...
Each file is one message (Maildir tmp/ is skipped); *.mbox files are split (mboxrd).
Re-running skips what is already recorded and resumes unfinished work.
  --again   replay as new deliveries (already delivered content is recorded as a duplicate)
Exit 1 when a replayed message ended dead.`,
  status: `Usage: mailintake status [--json] [--recent N] [-c FILE]
Counts by status, unsettled (pull sources), spool size and the N most recent dead letters (default 10).`,
  retry: `Usage: mailintake retry <id> | --dead [-c FILE]
Puts a dead (or failed) message back; handlers that already succeeded are not called again.
It is processed by the next \`run\` (or immediately when combined with a running worker).`,
  threads: `Usage: mailintake threads add <message-id> <ticket> [-c FILE]
       mailintake threads get <message-id> [-c FILE]
Records the Message-ID of a notification your application sent, so that replies referring to it
(In-Reply-To/References) reach the ticket through a ticket route's thread rule. get prints the
ticket (exit 1 when unknown).`,
  check: `Usage: mailintake check [--offline] [-c FILE]
Validates the configuration (errors name the field and the fix). Without --offline also logs in
to every pull source and lists capabilities (IDLE, MOVE, UIDPLUS, CONDSTORE) and folders.`,
  export: `Usage: mailintake export --source NAME --out DIR [--format maildir|mbox|eml]
                        [--mailbox M ...|--all] [--since YYYY-MM-DD] [--verify] [-c FILE]
Read-only backup (EXAMINE + BODY.PEEK; POP3 never DELE) of every selectable folder (default) or
the given ones, keeping flags and internal dates, with manifest.jsonl (folder, UIDVALIDITY, UID,
Message-ID, SHA-256, size, flags, date, file). Rerun to fetch only new mail or resume after a crash.
  --verify   re-read the whole export and check every hash (exit 1 on mismatch, listed on stderr)
Exit 1 when a folder failed or verification failed, 4 when the source is unreachable.`,
  restore: `Usage: mailintake restore --source NAME --from DIR [--mailbox M ...] [-c FILE]
APPENDs exported messages with their flags and internal dates into the same folder names
(creating missing ones). Messages already present (Message-ID + SHA-256) are skipped, so a restore
can be repeated. Exit 1 when a message could not be restored.`,
};

async function main(argv: string[]): Promise<number> {
  const [cmd = '', ...rest] = argv;
  if (cmd === '-h' || cmd === '--help' || cmd === 'help' || cmd === '') {
    process.stdout.write(HELP['']!);
    return cmd === '' ? EXIT.USAGE : EXIT.OK;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write('mailintake 0.1.0\n');
    return EXIT.OK;
  }
  if (!(cmd in HELP)) throw new UsageError(`unknown command "${cmd}" (see mailintake --help)`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      push: { type: 'boolean' },
      once: { type: 'boolean' },
      again: { type: 'boolean' },
      json: { type: 'boolean' },
      dead: { type: 'boolean' },
      recent: { type: 'string' },
      offline: { type: 'boolean' },
      source: { type: 'string' },
      out: { type: 'string' },
      from: { type: 'string' },
      format: { type: 'string' },
      mailbox: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      since: { type: 'string' },
      verify: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP[cmd]!}\n`);
    return EXIT.OK;
  }
  switch (cmd) {
    case 'check': {
      const { checkCommand } = await import('./check.js');
      return checkCommand(resolveConfigPath(values.config), { offline: values.offline === true });
    }
    case 'run': {
      const { runCommand } = await import('./run.js');
      return runCommand(values.config, { push: values.push === true, once: values.once === true });
    }
    case 'export': {
      const { exportCommand } = await import('./export.js');
      return exportCommand({ config: values.config, source: values.source, out: values.out, format: values.format, mailbox: values.mailbox, all: values.all === true, since: values.since, verify: values.verify === true }); // prettier-ignore
    }
    case 'restore': {
      const { restoreCommand } = await import('./restore.js');
      return restoreCommand({ config: values.config, source: values.source, from: values.from, mailbox: values.mailbox }); // prettier-ignore
    }
  }
  if (cmd === 'threads') return threadsCommand(values.config, positionals);
  const { loaded, log } = load(values.config);
  const { createApp } = await import('../app.js');
  const app = createApp(loaded.config, loaded.baseDir, log);
  try {
    switch (cmd) {
      case 'replay': {
        if (!positionals.length) throw new UsageError('replay needs at least one path');
        const { replay, replayItems } = await import('./replay.js');
        const items = await replayItems(positionals);
        app.pipeline.start();
        const rep = await replay(app, items, { again: values.again === true });
        await app.pipeline.idle();
        const counts = app.store.counts().byStatus;
        process.stdout.write(`${JSON.stringify({ action: 'replay', ...rep, byStatus: counts })}\n`);
        return (counts.dead ?? 0) > 0 || (counts.failed ?? 0) > 0 ? EXIT.FAILURES : EXIT.OK;
      }
      case 'status': {
        const { printStatus } = await import('./status.js');
        printStatus(app.store, { json: values.json === true, dead: Number(values.recent ?? 10) });
        return EXIT.OK;
      }
      case 'retry': {
        const all = values.dead === true;
        const id = positionals[0] === undefined ? undefined : Number(positionals[0]);
        if (!all && (id === undefined || !Number.isInteger(id)))
          throw new UsageError('retry needs a message id or --dead');
        const n = app.store.retry(all ? undefined : id, Date.now());
        process.stdout.write(`${JSON.stringify({ action: 'retry', requeued: n })}\n`);
        return n > 0 ? EXIT.OK : EXIT.FAILURES;
      }
    }
    return EXIT.USAGE;
  } finally {
    await app.close();
  }
}

async function threadsCommand(config: string | undefined, args: string[]): Promise<number> {
  const [sub, messageId, ticket, ...extra] = args;
  const ok = (sub === 'add' && ticket !== undefined) || (sub === 'get' && ticket === undefined);
  if (!ok || messageId === undefined || extra.length)
    throw new UsageError('usage: threads add <message-id> <ticket> | threads get <message-id>');
  const { openThreadMap } = await import('../store/sqlite/threads.js');
  const threads = openThreadMap(load(config).loaded.config.store.sqlite);
  try {
    if (sub === 'add') {
      try {
        threads.remember(messageId, ticket!);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      process.stdout.write(`${JSON.stringify({ action: 'thread-remembered', messageId, ticket })}\n`);
      return EXIT.OK;
    }
    const found = threads.lookup(messageId);
    if (found !== undefined) process.stdout.write(`${found}\n`);
    return found === undefined ? EXIT.FAILURES : EXIT.OK;
  } finally {
    threads.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      printConfigError(err);
      process.exitCode = EXIT.CONFIG;
    } else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`mailintake: ${(err as Error).message}\n`);
      process.exitCode = EXIT.USAGE;
    } else {
      process.stderr.write(`mailintake: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.SOFTWARE;
    }
  },
);
