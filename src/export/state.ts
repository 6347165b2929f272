/**
 * `state.json` in the output directory: which source and layout the export belongs to, whether the
 * last run finished cleanly (an unclean one makes reconcile re-hash everything), and per folder the
 * UIDVALIDITY and highest exported UID. The manifest stays the source of truth; this is a summary
 * written atomically at the end of each folder.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../handlers/atomic.js';
import type { ExportFormat, ManifestState } from './manifest.js';

export const STATE_FILE = 'state.json';

export interface FolderState {
  uidValidity: string | null;
  lastUid: number;
  messages: number;
}

export interface ExportState {
  version: 1;
  source: string;
  kind: 'imap' | 'pop3';
  format: ExportFormat;
  clean: boolean;
  updatedAt: string;
  folders: Record<string, FolderState>;
}

export async function readState(out: string): Promise<ExportState | null> {
  try {
    return JSON.parse(await readFile(join(out, STATE_FILE), 'utf8')) as ExportState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function writeState(out: string, state: ExportState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await writeFileAtomic(join(out, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/**
 * One folder's summary: the manifest as reconciled at start plus what this run's sink added
 * (`added`); records under `uidValidity` give the highest UID.
 */
export function folderState(
  m: ManifestState,
  folder: string,
  uidValidity: string | null,
  run?: { added: number; lastUid: number; uidValidity: string | null },
): FolderState {
  const f: FolderState = { uidValidity, lastUid: 0, messages: run?.added ?? 0 };
  if (run && run.uidValidity === uidValidity) f.lastUid = run.lastUid;
  for (const rec of m.messages.values()) {
    if (rec.folder !== folder) continue;
    f.messages++;
    if (rec.uidValidity === uidValidity && rec.uid !== null) f.lastUid = Math.max(f.lastUid, rec.uid);
  }
  return f;
}
