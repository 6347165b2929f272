/**
 * Settling on the server, driven by the ledger and the session's UIDL listing. For every listed
 * message with a ledger row: delivered/skipped → DELE (or keep, per leaveOnServer), dead → left on
 * the server, not final yet → nothing (a later run decides). DELEs are sent only after a durability
 * barrier on the outcomes they act on, and are committed by QUIT: rows are marked settled `dele`
 * only after QUIT's +OK. A dropped connection rolls the DELEs back on the server and nothing is
 * marked, so the next run sees the UIDLs again, finds them in the ledger, and settles them again
 * (never re-handles). Unsettled rows whose UIDL is no longer listed were removed (by us, when the
 * QUIT's reply was lost, or by someone else) and are settled as `gone`.
 */
import type { Logger } from 'pino';
import type { Pop3Config } from '../../config/schema.js';
import type { Store } from '../../store/types.js';
import { Pop3Error, type Pop3Client } from './client.js';
import { disposition, positionKey, SETTLE, uidOfPosition, type Listed } from './plan.js';

export interface SettleDeps {
  source: string;
  store: Store;
  log: Logger;
  leaveOnServer: Pop3Config['leaveOnServer'];
  now: () => number;
}

export interface SettleReport {
  deleted: number;
  /** Newly settled as kept (leaveOnServer) / left on the server (dead). */
  kept: number;
  left: number;
  gone: number;
  /** Listed messages without a final outcome yet, or not yet in the ledger. */
  waiting: number;
  errors: number;
}

/** Max unsettled rows examined for `gone` per run. */
const GONE_SCAN = 50_000;

/** Sends the DELEs, QUITs, and marks rows settled. The client is closed afterwards. */
export async function settleAndQuit(
  client: Pop3Client,
  d: SettleDeps,
  listed: readonly Listed[],
): Promise<SettleReport> {
  const report: SettleReport = { deleted: 0, kept: 0, left: 0, gone: 0, waiting: 0, errors: 0 };
  const now = d.now();
  const onServer = new Set(listed.map((m) => m.uid));
  // unsettled() runs the durability barrier: every outcome read below is on disk before any DELE.
  for (const row of d.store.unsettled(d.source, GONE_SCAN)) {
    const uid = uidOfPosition(d.source, row.positionKey);
    if (uid === undefined || onServer.has(uid)) continue;
    d.store.markSettled(row.id, SETTLE.gone, now);
    report.gone++;
    d.log.info({ action: 'pop3-gone', id: row.id, uid }, 'message no longer on the server');
  }
  const toDelete: Array<{ id: number; n: number; uid: string }> = [];
  for (const m of listed) {
    const row = d.store.getByPosition(positionKey(d.source, m.uid));
    if (!row) {
      report.waiting++;
      continue;
    }
    const what = disposition(row, d.leaveOnServer, now);
    if (what === 'dele') toDelete.push({ id: row.id, n: m.n, uid: m.uid });
    else if (what === 'wait') report.waiting++;
    else if (row.settledAt === null) {
      // keep / leave need no server action: settled now, counted once.
      d.store.markSettled(row.id, what === 'keep' ? SETTLE.keep : SETTLE.leave, now);
      if (what === 'keep') report.kept++;
      else report.left++;
    }
  }
  // Statuses just read may be younger than the barrier above (the pipeline kept running).
  if (toDelete.length) d.store.sync();
  const results = await Promise.allSettled(toDelete.map((t) => client.dele(t.n)));
  const deleted = toDelete.filter((t, i) => {
    const r = results[i] as PromiseSettledResult<void>;
    if (r.status === 'fulfilled') return true;
    if (!(r.reason instanceof Pop3Error) || client.closed) throw r.reason;
    report.errors++;
    d.log.warn({ action: 'pop3-dele-failed', uid: t.uid, err: r.reason.message }, 'DELE refused');
    return false;
  });
  await client.quit();
  // QUIT +OK: the server's UPDATE state removed them; only now is the ledger told.
  const at = d.now();
  d.store.markSettledMany(
    deleted.map((t) => t.id),
    SETTLE.dele,
    at,
  );
  report.deleted = deleted.length;
  return report;
}
