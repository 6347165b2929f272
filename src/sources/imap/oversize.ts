/**
 * Messages over `maxMessageSize` are never downloaded. They still get a ledger row, so the cursor
 * can pass them and the decision is auditable: a placeholder is quarantined as `dead` (policy dead:
 * settled with onFailure, e.g. moved to Failed) or `skipped` and already settled with `none`
 * (policy skip: left untouched on the server).
 */
import type { Intake } from '../../core/intake.js';
import { oversizePlaceholder, oversizeReason } from '../../core/quarantine.js';

export interface OversizeInput {
  source: string;
  positionKey: string;
  size: number;
  maxSize: number;
  policy: 'dead' | 'skip';
}

/** Records the oversize message; returns the ledger row id. */
export async function recordOversize(intake: Intake, i: OversizeInput): Promise<number> {
  const reason = oversizeReason(i);
  const res = await intake.quarantine(
    oversizePlaceholder(i),
    {
      envelope: { mailFrom: null, rcptTo: [] },
      source: { kind: 'imap', source: i.source, positionKey: i.positionKey },
    },
    i.policy === 'dead'
      ? { status: 'dead', reason }
      : { status: 'skipped', reason, settleAction: 'none:oversize' },
  );
  return res.row.id;
}
