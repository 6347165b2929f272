/**
 * Settling on the server after the outcome is recorded: delivered/skipped rows get onSuccess,
 * dead rows onFailure. Every answer is checked: a STORE is verified by reading the flags back, a
 * MOVE by its COPYUID map (or by searching the source folder), a delete by searching again. A UID
 * that is no longer there was removed by someone else: settled as `gone`, with a warning. Plain
 * EXPUNGE is never sent: without UIDPLUS, delete and COPY-based move are refused.
 */
import type { CopyResponseObject, ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { SettleAction } from '../../config/schema.js';
import { MailintakeError } from '../../core/errors.js';
import type { LedgerRow, Store } from '../../store/types.js';
import { parsePositionKey, uidSet, validityOf } from './cursor.js';

export class SettleError extends MailintakeError {
  constructor(message: string, retryable = true) {
    super(message, { code: 'IMAP_SETTLE', retryable });
  }
}

export interface SettleDeps {
  source: string;
  store: Store;
  log: Logger;
  onSuccess: SettleAction;
  onFailure: SettleAction;
  now?: () => number;
}

export interface SettleReport {
  settled: number;
  gone: number;
  errors: number;
}

interface Applied {
  done: number[];
  gone: number[];
  failed: number[];
  label: string;
}

export function actionLabel(a: SettleAction): string {
  if ('seen' in a) return a.keyword ? `seen+${a.keyword}` : 'seen';
  if ('move' in a) return `move:${a.move}`;
  if ('flag' in a) return `flag:${a.flag}`;
  if ('delete' in a) return 'delete';
  return 'none';
}

/** Settles `rows` (all of this source); returns counts. Errors are per mailbox and counted. */
export async function settleRows(
  client: ImapFlow,
  d: SettleDeps,
  rows: readonly LedgerRow[],
): Promise<SettleReport> {
  const now = d.now ?? Date.now;
  const report: SettleReport = { settled: 0, gone: 0, errors: 0 };
  const byMailbox = new Map<string, Array<{ row: LedgerRow; uid: number; uv: string }>>();
  for (const row of rows) {
    const p = parsePositionKey(row.positionKey, d.source);
    if (!p) {
      d.log.error(
        { action: 'settle-skip', id: row.id, positionKey: row.positionKey },
        'not an IMAP position of this source',
      );
      report.errors++;
      continue;
    }
    const list = byMailbox.get(p.mailbox) ?? [];
    list.push({ row, uid: p.uid, uv: p.uidValidity });
    byMailbox.set(p.mailbox, list);
  }
  const gone = (id: number, uid: number, mailbox: string, why: string) => {
    d.log.warn(
      { action: 'gone', id, mailbox, uid, why },
      'message no longer on the server; someone else removed it',
    );
    d.store.markSettled(id, 'gone', now());
    report.gone++;
  };
  for (const [mailbox, items] of byMailbox) {
    try {
      const lock = await client.getMailboxLock(mailbox);
      try {
        // Collect pending EXPUNGE/EXISTS first, so UIDs removed by other sessions are not seen as present.
        await client.noop();
        const mb = client.mailbox;
        const uv = mb && client.usable ? validityOf(mb.uidValidity) : null;
        if (!mb || uv === null) throw new SettleError(`mailbox ${mailbox} not selected (connection lost?)`);
        const live = items.filter((it) => {
          if (it.uv === uv) return true;
          gone(it.row.id, it.uid, mailbox, `uidvalidity changed (${it.uv} → ${uv})`);
          return false;
        });
        if (live.length === 0) continue;
        const present =
          mb.exists === 0
            ? new Set<number>()
            : new Set((await client.search({ uid: uidSet(live.map((i) => i.uid)) }, { uid: true })) || []);
        const groups: Array<[SettleAction, typeof live]> = [
          [d.onSuccess, []],
          [d.onFailure, []],
        ];
        for (const it of live) {
          if (!present.has(it.uid)) gone(it.row.id, it.uid, mailbox, 'uid not found');
          else groups[it.row.status === 'dead' ? 1 : 0]![1].push(it);
        }
        for (const [action, group] of groups) {
          if (group.length === 0) continue;
          const res = await apply(
            client,
            action,
            group.map((g) => g.uid),
          );
          const byUid = new Map(group.map((g) => [g.uid, g.row.id]));
          d.store.markSettledMany(
            res.done.map((uid) => byUid.get(uid)!),
            res.label,
            now(),
          );
          report.settled += res.done.length;
          for (const uid of res.gone) gone(byUid.get(uid)!, uid, mailbox, `vanished during ${res.label}`);
          if (res.failed.length) {
            report.errors += res.failed.length;
            d.log.error(
              { action: 'settle-failed', mailbox, settle: res.label, uids: uidSet(res.failed) },
              'server did not apply the settle action',
            );
          }
        }
      } finally {
        lock.release();
      }
    } catch (err) {
      report.errors += items.length;
      d.log.error({ action: 'settle-error', mailbox, err }, 'settling failed; will retry');
      // A lost connection ends the pass; a refusal for one folder does not stop the others.
      if (!(err instanceof SettleError) && !client.usable) throw err;
    }
  }
  return report;
}

async function apply(client: ImapFlow, action: SettleAction, uids: number[]): Promise<Applied> {
  const label = actionLabel(action);
  const set = uidSet(uids);
  if ('none' in action) return { done: uids, gone: [], failed: [], label };
  if ('seen' in action || 'flag' in action) {
    const flags = 'flag' in action ? [action.flag] : action.keyword ? ['\\Seen', action.keyword] : ['\\Seen'];
    if (!(await client.messageFlagsAdd(set, flags, { uid: true })))
      throw new SettleError(`STORE ${flags.join(' ')} refused`);
    return verifyFlags(client, set, uids, flags, label);
  }
  const caps = client.capabilities;
  if ('delete' in action) {
    if (!caps.has('UIDPLUS')) {
      throw new SettleError(
        "onSuccess/onFailure delete needs UIDPLUS (UID EXPUNGE); refusing a plain EXPUNGE that would purge other clients' \\Deleted mail. Use move or seen.",
        false,
      );
    }
    if (!(await client.messageDelete(set, { uid: true }))) throw new SettleError('UID EXPUNGE refused');
    const still = await stillThere(client, set);
    return {
      done: uids.filter((u) => !still.has(u)),
      gone: [],
      failed: uids.filter((u) => still.has(u)),
      label,
    };
  }
  if (!caps.has('MOVE') && !caps.has('UIDPLUS')) {
    throw new SettleError(
      `move needs MOVE or UIDPLUS; refusing COPY + plain EXPUNGE. Use seen or flag.`,
      false,
    );
  }
  let res: CopyResponseObject | false = await client.messageMove(set, action.move, { uid: true });
  if (res === false) {
    await ensureFolder(client, action.move);
    res = await client.messageMove(set, action.move, { uid: true });
  }
  if (res === false) throw new SettleError(`MOVE to "${action.move}" failed`);
  assertUsable(client, 'MOVE');
  if (res.uidMap) {
    const map = res.uidMap;
    return { done: uids.filter((u) => map.has(u)), gone: uids.filter((u) => !map.has(u)), failed: [], label };
  }
  // No COPYUID: whatever left the source folder was moved.
  const still = await stillThere(client, set);
  return {
    done: uids.filter((u) => !still.has(u)),
    gone: [],
    failed: uids.filter((u) => still.has(u)),
    label,
  };
}

async function verifyFlags(
  client: ImapFlow,
  set: string,
  uids: number[],
  flags: string[],
  label: string,
): Promise<Applied> {
  const seen = new Map<number, Set<string>>();
  for await (const m of client.fetch(set, { uid: true, flags: true }, { uid: true })) {
    seen.set(m.uid, new Set([...(m.flags ?? [])].map((f) => f.toLowerCase())));
  }
  assertUsable(client, 'FETCH FLAGS');
  const want = flags.map((f) => f.toLowerCase());
  const out: Applied = { done: [], gone: [], failed: [], label };
  for (const u of uids) {
    const f = seen.get(u);
    if (!f) out.gone.push(u);
    else if (want.every((w) => f.has(w))) out.done.push(u);
    else out.failed.push(u);
  }
  return out;
}

/** UIDs of `set` still in the selected mailbox. A failed SEARCH (imapflow returns false, it does
 * not throw) must never read as "none left": that would settle live mail as moved or gone. */
async function stillThere(client: ImapFlow, set: string): Promise<Set<number>> {
  const found = await client.search({ uid: set }, { uid: true });
  if (!Array.isArray(found)) throw new SettleError(`UID SEARCH ${set} failed`);
  assertUsable(client, 'UID SEARCH');
  return new Set(found);
}

/** A fetch loop may simply end when the connection drops; answers read then are incomplete. */
function assertUsable(client: ImapFlow, what: string): void {
  if (!client.usable) throw new SettleError(`connection lost during ${what}; results discarded`);
}

async function ensureFolder(client: ImapFlow, path: string): Promise<void> {
  try {
    await client.mailboxCreate(path);
  } catch (err) {
    const code = (err as { serverResponseCode?: string }).serverResponseCode;
    if (code !== 'ALREADYEXISTS')
      throw new SettleError(`cannot create folder "${path}": ${(err as Error).message}`);
  }
}
