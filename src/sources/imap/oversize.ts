/**
 * Messages over `maxMessageSize` are never downloaded. They still get a ledger row, so the cursor
 * can pass them and the decision is auditable: a small synthetic placeholder is spooled and the
 * row is finished at once as `dead` (policy dead: settled with onFailure, e.g. moved to Failed)
 * or `skipped` and marked settled with `none` (policy skip: left untouched on the server).
 *
 * The store has no "insert as final" call, so insert and finish run back-to-back in one
 * synchronous stretch (the pipeline cannot claim the row in between; nothing wakes it either,
 * since we bypass intake's listeners). See the report for the proposed `Intake.quarantine`.
 */
import type { Intake } from '../../core/intake.js';
import { contentKeyOf } from '../../core/message.js';
import type { Store } from '../../store/types.js';

export interface OversizeInput {
  source: string;
  positionKey: string;
  size: number;
  maxSize: number;
  policy: 'dead' | 'skip';
}

/** Builds the placeholder bytes (deterministic for a position and size). */
export function placeholder(i: OversizeInput): Buffer {
  return Buffer.from(
    [
      'From: mailintake <mailintake@localhost>',
      'Subject: [mailintake] message over the size limit, not downloaded',
      `X-Mailintake-Oversize: ${i.size}`,
      `X-Mailintake-Position: ${i.positionKey}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The message at ${i.positionKey} is ${i.size} bytes, over maxMessageSize ${i.maxSize}.`,
      'It was not downloaded and stays on the server.',
      '',
    ].join('\r\n'),
  );
}

/** Records the oversize message; returns the ledger row id. */
export async function recordOversize(
  intake: Intake,
  store: Store,
  i: OversizeInput,
  now: () => number = Date.now,
): Promise<number> {
  const raw = placeholder(i);
  const file = await intake.spool.write(raw);
  const key = contentKeyOf(raw, file.sha256);
  const t = now();
  const reason = `oversize: ${i.size} bytes > maxMessageSize ${i.maxSize}`;
  // Synchronous from here: no other code runs between insert and finish.
  const { row, created } = store.insertReceived(
    {
      positionKey: i.positionKey,
      sourceKind: 'imap',
      source: i.source,
      contentKey: key.key,
      messageId: key.messageId,
      sha256: file.sha256,
      size: file.size,
      spoolPath: file.path,
      envelope: { mailFrom: null, rcptTo: [] },
      receivedAt: t,
    },
    t,
  );
  if (!created) return row.id;
  const status = i.policy === 'dead' ? 'dead' : 'skipped';
  store.finish(row.id, { status, reason, route: null, nextAttemptAt: null, attempts: 0 }, t);
  if (i.policy === 'skip') store.markSettled(row.id, 'none:oversize', t);
  return row.id;
}
