/** `mailintake status`: counts by status, unsettled, spool size, recent dead letters. */
import type { Store } from '../store/types.js';

export function printStatus(store: Store, opts: { json: boolean; dead: number }): void {
  const c = store.counts();
  const dead = store.recent('dead', opts.dead).map((r) => ({
    id: r.id,
    source: r.source,
    position: r.positionKey,
    messageId: r.messageId,
    attempts: r.attempts,
    reason: r.reason,
    at: new Date(r.updatedAt).toISOString(),
  }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...c, dead })}\n`);
    return;
  }
  const order = ['received', 'processing', 'failed', 'delivered', 'skipped', 'dead'] as const;
  process.stdout.write('status       count\n');
  for (const s of order) process.stdout.write(`${s.padEnd(12)} ${String(c.byStatus[s] ?? 0).padStart(6)}\n`);
  process.stdout.write(
    `unsettled    ${String(c.unsettled).padStart(6)}   (final outcome, server not yet updated)\n`,
  );
  process.stdout.write(`spool bytes  ${c.spoolBytes}\n`);
  if (dead.length) {
    process.stdout.write('\nrecent dead letters:\n');
    for (const d of dead)
      process.stdout.write(`  #${d.id} ${d.at} ${d.source} ${d.messageId ?? '-'}: ${d.reason}\n`);
  }
}
