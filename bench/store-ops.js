// Ledger operations per message, in one process, no I/O waits (synchronous=NORMAL commits into the
// page cache): the getByPosition lookup, the intake insert (one row per transaction, as with one
// SMTP sender) and the outcome commit (finishMany with one handler outcome), each averaged over N
// messages after 2,000 unmeasured ones.
//
//   npm run build && node bench/store-ops.js [N=5000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../dist/store/sqlite/store.js';

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'mi-store-bench-'));
const store = openSqliteStore(join(dir, 'ledger.sqlite'));
const row = (i) => ({
  positionKey: `smtp:push:s${i}.1`,
  sourceKind: 'smtp',
  source: 'push',
  contentKey: `mid:<m${i}@client.test>`,
  messageId: `<m${i}@client.test>`,
  sha256: 'a'.repeat(64),
  size: 50_000,
  spoolPath: `/var/spool/mailintake/2026-11-26/x-${i}.eml`,
  envelope: { mailFrom: 'a@client.test', rcptTo: ['b@example.test'] },
  receivedAt: Date.now(),
});
const finish = (id) =>
  store.finishMany(
    [
      {
        id,
        update: { status: 'delivered', reason: null, route: 'all', nextAttemptAt: null, attempts: 1 },
        outcomes: [{ messageId: id, handler: 'md', status: 'ok', attempts: 1, detail: null, at: Date.now() }],
      },
    ],
    Date.now(),
  );
const once = (i) => {
  const a = performance.now();
  store.getByPosition(`smtp:push:s${i}.1`);
  const b = performance.now();
  const [r] = store.insertMany([row(i)], Date.now());
  const c = performance.now();
  finish(r.row.id);
  return [b - a, c - b, performance.now() - c];
};
for (let i = 0; i < 2000; i++) once(i);
const sum = [0, 0, 0];
for (let i = 2000; i < 2000 + N; i++) once(i).forEach((t, k) => (sum[k] += t));
const us = (t) => `${((t / N) * 1000).toFixed(1)} µs`;
console.log(`${N} messages: lookup ${us(sum[0])}, insert ${us(sum[1])}, outcome commit ${us(sum[2])}`);
store.close();
rmSync(dir, { recursive: true, force: true });
