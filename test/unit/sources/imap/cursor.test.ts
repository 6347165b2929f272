import { describe, expect, it } from 'vitest';
import {
  advanceCursor,
  chunkCandidates,
  decideCursor,
  parsePositionKey,
  positionKey,
  uidSet,
} from '../../../../src/sources/imap/cursor.js';

describe('position keys', () => {
  it('round-trips, including mailboxes with colons', () => {
    const k = positionKey('support', 'Archive:2026:Q1', '1700000000', 42);
    expect(k).toBe('imap:support:Archive:2026:Q1:1700000000:42');
    expect(parsePositionKey(k, 'support')).toEqual({
      mailbox: 'Archive:2026:Q1',
      uidValidity: '1700000000',
      uid: 42,
    });
  });
  it('rejects other sources and malformed keys', () => {
    expect(parsePositionKey('imap:other:INBOX:1:2', 'support')).toBeNull();
    expect(parsePositionKey('pop3:support:abc', 'support')).toBeNull();
    expect(parsePositionKey('imap:support:INBOX:1:x', 'support')).toBeNull();
    expect(parsePositionKey('imap:support:INBOX:1:0', 'support')).toBeNull();
  });
});

describe('decideCursor', () => {
  const base = {
    storedValidity: undefined,
    storedCursor: undefined,
    uidValidity: '7',
    uidNext: 101,
    startFrom: 'backlog' as const,
  };
  it('first run: backlog from 0, new from uidNext-1', () => {
    expect(decideCursor(base)).toEqual({ cursor: 0, reset: 'first-run-backlog' });
    expect(decideCursor({ ...base, startFrom: 'new' })).toEqual({ cursor: 100, reset: 'first-run-new' });
  });
  it('keeps the stored cursor while UIDVALIDITY is unchanged', () => {
    expect(decideCursor({ ...base, storedValidity: '7', storedCursor: '55' })).toEqual({
      cursor: 55,
      reset: null,
    });
  });
  it('restarts from 0 when UIDVALIDITY changed, whatever startFrom says', () => {
    expect(decideCursor({ ...base, storedValidity: '6', storedCursor: '55', startFrom: 'new' })).toEqual({
      cursor: 0,
      reset: 'uidvalidity-changed',
    });
  });
});

describe('advanceCursor', () => {
  it('moves only over UIDs in the ledger, stopping at the first gap in the ledger', () => {
    const ledger = new Set([3, 4, 6, 9]);
    expect(advanceCursor(2, [9, 3, 4, 6, 7], (u) => ledger.has(u))).toBe(6);
  });
  it('passes UIDs the server did not list (expunged by others)', () => {
    expect(advanceCursor(2, [5, 10], () => true)).toBe(10);
  });
  it('never goes backwards', () => {
    expect(advanceCursor(20, [5, 10], () => true)).toBe(20);
    expect(advanceCursor(20, [21], () => false)).toBe(20);
  });
});

describe('chunkCandidates / uidSet', () => {
  it('splits by count and bytes; a big message forms its own chunk', () => {
    const items = [1, 2, 3, 4, 5].map((uid) => ({ uid, size: uid === 3 ? 1000 : 10 }));
    expect(chunkCandidates(items, 2, 100).map((c) => c.map((x) => x.uid))).toEqual([[1, 2], [3], [4, 5]]);
  });
  it('compresses ranges', () => {
    expect(uidSet([8, 1, 2, 3, 5, 7, 3])).toBe('1:3,5,7:8');
    expect(uidSet([4])).toBe('4');
  });
});
