/**
 * `export` orchestration: reconcile the output directory, mark the run unclean, plan and fetch every
 * folder (IMAP) or the maildrop (POP3) through the sink, write per-folder state, mark clean.
 * Resumable at any point: a rerun reconciles and fetches only what the manifest does not have.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { SourceConfig } from '../config/schema.js';
import { closeImap, connectImap, connectPop3 } from './connect.js';
import { fetchInto, planFolder, selectableFolders, slices, type FolderPlan } from './imap-export.js';
import { maildirDirs } from './layout.js';
import { MANIFEST, ManifestWriter, type ExportFormat, type ManifestState } from './manifest.js';
import { fetchPop3, planPop3, POP3_FOLDER } from './pop3-export.js';
import type { Progress } from './progress.js';
import { mboxSizes, reconcile } from './reconcile.js';
import { assignFolderPath } from './safe-path.js';
import { Sink, type FsyncMode } from './sink.js';
import { folderState, readState, writeState, type ExportState } from './state.js';
import { ensureDir } from './files.js';

export interface ExportOptions {
  sourceName: string;
  source: SourceConfig;
  out: string;
  format: ExportFormat;
  /** null = every selectable folder. */
  mailboxes: string[] | null;
  since?: Date | undefined;
  log: Logger;
  progress?: Progress | undefined;
  /** IMAP connections fetching one folder in parallel (default 1; measured no gain on loopback). */
  connections?: number;
  /** Messages written concurrently (default 16). */
  writeConcurrency?: number;
  /** Message file durability (default 'batch'); directories are fsynced per checkpoint regardless. */
  fsync?: FsyncMode;
  bigMessageBytes?: number;
}

export interface ExportReport {
  folders: number;
  planned: number;
  written: number;
  remapped: number;
  bytes: number;
  reconciled: { dropped: number; orphansRemoved: number; tornTail: boolean };
  errors: Array<{ folder: string; error: string }>;
}

export class ExportMismatchError extends Error {}

export async function runExport(o: ExportOptions): Promise<ExportReport> {
  await mkdir(o.out, { recursive: true });
  const kind = o.source.imap ? 'imap' : 'pop3';
  const prev = await readState(o.out);
  if (prev && (prev.format !== o.format || prev.source !== o.sourceName)) {
    throw new ExportMismatchError(
      `${o.out} holds a ${prev.format} export of "${prev.source}"; use another directory`,
    );
  }
  const { manifest, report: rec } = await reconcile(o.out, { rehash: prev !== null && !prev.clean });
  if (rec.dropped || rec.orphansRemoved || rec.tornTail) o.log.warn({ action: 'reconcile', ...rec });
  const state: ExportState = prev ?? { version: 1, source: o.sourceName, kind, format: o.format, clean: false, updatedAt: '', folders: {} }; // prettier-ignore
  state.clean = false;
  await writeState(o.out, state);
  const writer = new ManifestWriter(join(o.out, MANIFEST));
  const sinkOpts = { out: o.out, format: o.format, manifest: writer, log: o.log, fsync: o.fsync ?? 'batch', concurrency: o.writeConcurrency ?? 16, mboxSizes: mboxSizes(manifest) }; // prettier-ignore
  const sink = new Sink(o.progress ? { ...sinkOpts, progress: o.progress } : sinkOpts);
  const report: ExportReport = { folders: 0, planned: 0, written: 0, remapped: 0, bytes: 0, reconciled: rec, errors: [] }; // prettier-ignore
  let failure: unknown = null;
  try {
    if (o.source.imap) await exportImap(o, manifest, writer, sink, report, state);
    else await exportPop3(o, manifest, writer, sink, report, state);
  } catch (err) {
    failure = err;
  }
  try {
    await sink.close();
  } catch (err) {
    failure ??= err;
  }
  await writer.close();
  Object.assign(report, {
    written: sink.stats.written,
    remapped: sink.stats.remapped,
    bytes: sink.stats.bytes,
  });
  if (failure) throw failure;
  state.clean = report.errors.length === 0;
  await writeState(o.out, state);
  return report;
}

function folderPathFor(
  o: ExportOptions,
  manifest: ManifestState,
  writer: ManifestWriter,
  folder: string,
  delimiter: string | null,
  specialUse: string | null,
): string {
  // prettier-ignore
  const taken = new Map([...manifest.folders.values()].map((f) => [f.folder, f.path]));
  const known = manifest.folders.get(folder);
  if (known) return known.path;
  const path = assignFolderPath(folder, delimiter, taken);
  const rec = { t: 'folder' as const, folder, delimiter, path, specialUse };
  manifest.folders.set(folder, rec);
  writer.append(rec);
  o.log.debug({ action: 'folder-map', folder, path });
  return path;
}

async function exportImap(
  o: ExportOptions,
  manifest: ManifestState,
  writer: ManifestWriter,
  sink: Sink,
  report: ExportReport,
  state: ExportState,
): Promise<void> {
  const cfg = o.source.imap!;
  const clients: ImapFlow[] = [await connectImap(cfg, o.log)];
  try {
    const folders = selectableFolders(await clients[0]!.list(), o.mailboxes);
    for (const want of o.mailboxes ?? []) {
      if (!folders.some((f) => f.path === want || (want.toUpperCase() === 'INBOX' && f.path === 'INBOX'))) {
        report.errors.push({ folder: want, error: 'no such selectable mailbox' });
      }
    }
    const plans: FolderPlan[] = [];
    for (const f of folders) {
      const folderPath = folderPathFor(
        o,
        manifest,
        writer,
        f.path,
        f.delimiter || null,
        f.specialUse ?? null,
      );
      if (o.format === 'maildir') for (const d of maildirDirs(folderPath)) await ensureDir(join(o.out, d));
      try {
        const plan = await planFolder(
          clients[0]!,
          { folder: f.path, folderPath },
          manifest.messages.values(),
          {
            since: o.since,
            bigMessageBytes: o.bigMessageBytes ?? 8 * 1024 * 1024,
          },
        );
        plans.push(plan);
        report.planned += plan.small.length + plan.big.length;
        o.progress?.plan(plan.small.length + plan.big.length, plan.bytes);
      } catch (err) {
        if (!clients[0]!.usable) throw err;
        report.errors.push({ folder: f.path, error: (err as Error).message });
      }
    }
    report.folders = plans.length;
    for (const plan of plans) {
      const parts = slices(plan.small, plan.small.length >= 400 ? (o.connections ?? 1) : 1);
      while (clients.length < parts.length) clients.push(await connectImap(cfg, o.log));
      try {
        await Promise.all(
          parts.map((small, i) =>
            fetchInto(clients[i]!, plan, { small, big: i === 0 ? plan.big : [] }, sink, o.log),
          ),
        );
        if (plan.small.length === 0 && plan.big.length) await fetchInto(clients[0]!, plan, { small: [], big: plan.big }, sink, o.log); // prettier-ignore
        await sink.drain();
      } catch (err) {
        if (clients.some((c) => !c.usable)) throw err;
        report.errors.push({ folder: plan.folder, error: (err as Error).message });
      }
      await sink.checkpoint();
      state.folders[plan.folder] = folderState(
        manifest,
        plan.folder,
        plan.uidValidity,
        sink.folders.get(plan.folder),
      );
      await writeState(o.out, state);
    }
  } finally {
    await Promise.all(clients.map((c) => closeImap(c)));
  }
}

async function exportPop3(
  o: ExportOptions,
  manifest: ManifestState,
  writer: ManifestWriter,
  sink: Sink,
  report: ExportReport,
  state: ExportState,
): Promise<void> {
  const client = await connectPop3(o.source.pop3!);
  try {
    const folderPath = folderPathFor(o, manifest, writer, POP3_FOLDER, null, null);
    if (o.format === 'maildir') for (const d of maildirDirs(folderPath)) await ensureDir(join(o.out, d));
    const plan = await planPop3(client, manifest.messages.values());
    report.folders = 1;
    report.planned = plan.todo.length;
    o.progress?.plan(plan.todo.length, plan.bytes);
    await fetchPop3(client, plan, folderPath, sink);
    await sink.drain();
    state.folders[POP3_FOLDER] = folderState(manifest, POP3_FOLDER, null, sink.folders.get(POP3_FOLDER));
    await client.quit();
  } finally {
    if (!client.closed) client.destroy();
  }
}
