/**
 * Messages whose LIST size exceeds `maxMessageSize` are never downloaded. They get a ledger row
 * finished at once as `dead` with the reason, so the decision is auditable and the next run knows
 * the UIDL; the message itself is quarantined by staying on the server (POP3 dead = never DELE).
 * A small deterministic placeholder stands in for the raw bytes in the spool.
 *
 * The store has no "insert as final" call, so insert and finish run back-to-back in one synchronous
 * stretch (the pipeline cannot claim the row in between, and intake's listeners are not woken).
 * Same approach as the IMAP source's oversize.ts; a shared `Intake.quarantine` would replace both.
 */
import type { Intake } from '../../core/intake.js';
import { contentKeyOf } from '../../core/message.js';
import type { Store } from '../../store/types.js';

export interface OversizeInput {
  source: string;
  positionKey: string;
  size: number;
  maxSize: number;
}

/** Placeholder bytes (deterministic for a position and size). */
export function placeholder(i: OversizeInput): Buffer {
  return Buffer.from(
    [
      'From: mailintake <mailintake@localhost>',
      'Subject: [mailintake] message over the size limit, not downloaded',
      `X-Mailintake-Oversize: ${i.size}`,
      `X-Mailintake-Position: ${i.positionKey}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The POP3 message ${i.positionKey} is ${i.size} bytes, over maxMessageSize ${i.maxSize}.`,
      'It was not downloaded and stays on the server.',
      '',
    ].join('\r\n'),
  );
}

/** Records the oversize message as dead; returns the ledger row id. */
export async function recordOversize(
  intake: Intake,
  store: Store,
  i: OversizeInput,
  now: number,
): Promise<number> {
  const raw = placeholder(i);
  const file = await intake.spool.write(raw);
  const key = contentKeyOf(raw, file.sha256);
  const reason = `oversize: ${i.size} bytes > maxMessageSize ${i.maxSize}`;
  // Synchronous from here: no other code runs between insert and finish.
  const { row, created } = store.insertReceived(
    {
      positionKey: i.positionKey,
      sourceKind: 'pop3',
      source: i.source,
      contentKey: key.key,
      messageId: key.messageId,
      sha256: file.sha256,
      size: file.size,
      spoolPath: file.path,
      envelope: { mailFrom: null, rcptTo: [] },
      receivedAt: now,
    },
    now,
  );
  if (created) store.finish(row.id, { status: 'dead', reason, route: null, nextAttemptAt: null, attempts: 0 }, now); // prettier-ignore
  return row.id;
}
