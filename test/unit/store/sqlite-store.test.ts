import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../src/store/sqlite/migrations.js';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite/store.js';
import type { NewLedgerRow } from '../../../src/store/types.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
function fresh(): { store: SqliteStore; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'mi-store-'));
  dirs.push(dir);
  const path = join(dir, 'ledger.sqlite');
  const store = openSqliteStore(path);
  stores.push(store);
  return { store, path };
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function row(i: number, over: Partial<NewLedgerRow> = {}): NewLedgerRow {
  return {
    positionKey: `pop3:box:uid-${i}`,
    sourceKind: 'pop3',
    source: 'box',
    contentKey: `mid:<m${i}@example.test>`,
    messageId: `<m${i}@example.test>`,
    sha256: String(i).padStart(64, '0'),
    size: 1000 + i,
    spoolPath: `/spool/2026-11-26/${i}.eml`,
    envelope: { mailFrom: i % 2 ? null : 'a@example.test', rcptTo: [`r${i}@example.test`] },
    receivedAt: 1_700_000_000_000 + i,
    ...over,
  };
}

describe('SqliteStore rows', () => {
  it('insertMany returns each row exactly as reading it back gives it (new, duplicate, final, known)', () => {
    const { store } = fresh();
    const now = 1_800_000_000_000;
    const first = store.insertMany(
      [
        row(1),
        row(2, { messageId: null, contentKey: 'sha:2' }),
        // same content as row 1 at another position: recorded as its duplicate
        row(3, { contentKey: 'mid:<m1@example.test>' }),
        row(4, { final: { status: 'dead', reason: 'too big', settleAction: 'kept' } }),
        row(5, { final: { status: 'skipped', reason: 'filtered' } }),
      ],
      now,
    );
    expect(first.map((r) => [r.created, r.row.status])).toEqual([
      [true, 'received'],
      [true, 'received'],
      [true, 'skipped'],
      [true, 'dead'],
      [true, 'skipped'],
    ]);
    expect(first[2]!.row.duplicateOf).toBe(first[0]!.row.id);
    expect(first[3]!.row.settledAt).toBe(now);
    expect(first[3]!.row.settleAction).toBe('kept');
    for (const r of first) expect(r.row).toEqual(store.get(r.row.id));
    // The same position again: the stored row, not a new one.
    const again = store.insertMany([row(1, { size: 1 })], now + 1);
    expect(again[0]!.created).toBe(false);
    expect(again[0]!.row).toEqual(store.get(first[0]!.row.id));
  });

  it('the envelope of a returned row is not the caller object', () => {
    const { store } = fresh();
    const r = row(7);
    const [res] = store.insertMany([r], 1);
    res!.row.envelope.rcptTo.push('x@example.test');
    expect(r.envelope.rcptTo).toEqual(['r7@example.test']);
    expect(store.get(res!.row.id)!.envelope.rcptTo).toEqual(['r7@example.test']);
  });

  it('unsettled lists the final, unsettled rows of one source in id order', () => {
    const { store } = fresh();
    const ids = store
      .insertMany(
        [1, 2, 3, 4, 5, 6].map((i) => row(i)),
        10,
      )
      .map((r) => r.row.id);
    const other = store.insertMany([row(9, { source: 'other', positionKey: 'pop3:other:9' })], 10);
    const fin = (status: 'delivered' | 'dead' | 'failed') => ({
      status,
      reason: null,
      route: null,
      nextAttemptAt: status === 'failed' ? 99 : null,
      attempts: 1,
    });
    store.finishMany(
      [
        { id: ids[4]!, update: fin('delivered'), outcomes: [] },
        { id: ids[0]!, update: fin('dead'), outcomes: [] },
        { id: ids[1]!, update: fin('failed'), outcomes: [] },
        { id: ids[2]!, update: fin('delivered'), outcomes: [] },
        { id: other[0]!.row.id, update: fin('delivered'), outcomes: [] },
      ],
      20,
    );
    store.markSettledMany([ids[2]!], 'deleted', 30);
    expect(store.unsettled('box', 10).map((r) => r.id)).toEqual([ids[0], ids[4]]);
    expect(store.unsettled('box', 1).map((r) => r.id)).toEqual([ids[0]]);
    expect(store.unsettledCount('box')).toBe(2);
    expect(store.unsettledCount('other')).toBe(1);
  });
});

describe('SqliteStore migrations', () => {
  it('a ledger made by an older version is upgraded in place, its rows kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mi-store-'));
    dirs.push(dir);
    const path = join(dir, 'ledger.sqlite');
    // The schema as it was before the last migration, with one unsettled row in it.
    const db = new Database(path);
    for (const m of MIGRATIONS.slice(0, -1)) db.exec(m);
    db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    db.prepare(
      `INSERT INTO messages (position_key, source_kind, source, content_key, sha256, size, spool_path,
       envelope, received_at, status, updated_at) VALUES ('p1', 'pop3', 'box', 'k1', 'h', 1, '/s', '{"mailFrom":null,"rcptTo":[]}', 1, 'delivered', 1)`,
    ).run();
    db.close();
    const store = openSqliteStore(path);
    stores.push(store);
    expect(store.unsettled('box', 10).map((r) => r.positionKey)).toEqual(['p1']);
    const check = new Database(path, { readonly: true });
    const version = check.pragma('user_version', { simple: true });
    const cols = check
      .prepare(`SELECT name FROM pragma_index_info('messages_unsettled') ORDER BY seqno`)
      .pluck()
      .all();
    check.close();
    expect(version).toBe(MIGRATIONS.length);
    expect(cols).toEqual(['source', 'settled_at']);
  });
});
