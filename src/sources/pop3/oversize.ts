/**
 * Messages whose LIST size exceeds `maxMessageSize` are never downloaded. A placeholder is
 * quarantined as `dead` with the reason, so the decision is auditable and the next run knows the
 * UIDL; the message itself stays on the server (POP3 dead = never DELE).
 */
import type { Intake } from '../../core/intake.js';
import { oversizePlaceholder, oversizeReason } from '../../core/quarantine.js';

export interface OversizeInput {
  source: string;
  positionKey: string;
  size: number;
  maxSize: number;
}

/** Records the oversize message as dead; returns the ledger row id. */
export async function recordOversize(intake: Intake, i: OversizeInput): Promise<number> {
  const res = await intake.quarantine(
    oversizePlaceholder(i),
    {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'pop3', source: i.source, positionKey: i.positionKey },
    },
    { status: 'dead', reason: oversizeReason(i) },
  );
  return res.row.id;
}
