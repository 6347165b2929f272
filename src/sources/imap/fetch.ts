/**
 * Fetching one mailbox into intake. Selection is by UID cursor (`uid > cursor`, filtered, since
 * `N:*` always returns the last message), never by \Seen. Sizes are listed first; small messages
 * come in chunked `BODY.PEEK[]` fetches, big ones stream through `download()`, oversize ones are
 * recorded without download. No IMAP command is issued inside a `for await` fetch loop: each
 * loop only collects, the work happens after it ends.
 */
import type { FetchMessageObject, ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { ImapConfig } from '../../config/schema.js';
import { SizeLimitError } from '../../core/errors.js';
import type { Intake, IntakeResult } from '../../core/intake.js';
import type { Store } from '../../store/types.js';
import {
  advanceCursor,
  chunkCandidates,
  decideCursor,
  positionKey,
  stateKeys,
  uidSet,
  validityOf,
  type Candidate,
} from './cursor.js';
import { ImapUnavailableError } from './supervisor.js';
import { recordOversize } from './oversize.js';

export interface FetchDeps {
  source: string;
  cfg: ImapConfig;
  intake: Intake;
  store: Store;
  log: Logger;
  /** Messages above this size are streamed with download() instead of buffered. */
  streamThreshold: number;
  /** Bytes per chunked source fetch. */
  chunkBytes: number;
  /** Messages per pass (the rest waits for the next pass, so settles interleave). */
  maxPerPass: number;
}

export interface MailboxPass {
  /** Newly received ledger rows. */
  ids: number[];
  /** Listed UIDs beyond this pass's batch (failures in the batch are retried by the next trigger). */
  remaining: number;
}

const ENVELOPE = { mailFrom: null, rcptTo: [] as string[] };

/** No new UID FETCH while this many fetched messages wait for the pipeline. */
const BACKLOG_LIMIT = 128;

/** One pass over `mailbox`: list what is above the cursor, take up to maxPerPass, advance. */
export async function fetchMailbox(client: ImapFlow, d: FetchDeps, mailbox: string): Promise<MailboxPass> {
  const lock = await client.getMailboxLock(mailbox);
  try {
    // An already-selected mailbox keeps the counts of its SELECT until the server tells news;
    // NOOP collects pending EXISTS/EXPUNGE so `exists` is current.
    await client.noop();
    const mb = client.mailbox;
    const uv = mb && client.usable ? validityOf(mb.uidValidity) : null;
    // Never decide on a lost selection: "undefined" would read as a UIDVALIDITY change.
    if (!mb || uv === null)
      throw new ImapUnavailableError(`mailbox ${mailbox} not selected (connection lost?)`);
    const keys = stateKeys(mailbox);
    const decision = decideCursor({
      storedValidity: d.store.getState(d.source, keys.uidValidity),
      storedCursor: d.store.getState(d.source, keys.cursor),
      uidValidity: uv,
      uidNext: mb.uidNext,
      startFrom: d.cfg.startFrom,
    });
    let cursor = decision.cursor;
    if (decision.reset) {
      const level = decision.reset === 'uidvalidity-changed' ? 'warn' : 'info';
      d.log[level](
        { action: 'cursor-reset', mailbox, reason: decision.reset, uidValidity: uv, cursor },
        'UID cursor set',
      );
      d.store.setState(d.source, keys.uidValidity, uv);
      d.store.setState(d.source, keys.cursor, String(cursor));
    }
    if (mb.exists === 0) return { ids: [], remaining: 0 };

    const listed: Candidate[] = [];
    for await (const m of client.fetch(`${cursor + 1}:*`, { uid: true, size: true }, { uid: true })) {
      if (m.uid > cursor) listed.push({ uid: m.uid, size: m.size ?? 0 });
    }
    listed.sort((a, b) => a.uid - b.uid);
    const batch = listed.slice(0, d.maxPerPass);
    const batchUids = batch.map((c) => c.uid);
    const inLedger = new Set<number>();
    const ids: number[] = [];
    const pos = (uid: number) => positionKey(d.source, mailbox, uv, uid);
    const save = () => {
      const next = advanceCursor(cursor, batchUids, (u) => inLedger.has(u));
      if (next !== cursor) {
        cursor = next;
        d.store.setState(d.source, keys.cursor, String(cursor));
      }
    };
    const note = (uid: number, r: IntakeResult) => {
      inLedger.add(uid);
      if (r.created) ids.push(r.row.id);
    };

    const small: Candidate[] = [];
    const big: Candidate[] = [];
    for (const c of batch) {
      if (d.intake.known(pos(c.uid))) inLedger.add(c.uid);
      else if (c.size > d.cfg.maxMessageSize) {
        await oversize(d, pos(c.uid), c.size);
        inLedger.add(c.uid);
      } else if (c.size > d.streamThreshold) big.push(c);
      else small.push(c);
    }
    save();

    for (const chunk of chunkCandidates(small, d.cfg.fetchBatch, d.chunkBytes)) {
      // Paced by the pipeline between UID FETCHes (never inside one): see Intake.room.
      await d.intake.room(BACKLOG_LIMIT);
      const got: Array<{ uid: number; source: Buffer }> = [];
      const iter = client.fetch(uidSet(chunk.map((c) => c.uid)), { uid: true, source: true }, { uid: true });
      for await (const m of iter as AsyncIterable<FetchMessageObject>) {
        if (m.source) got.push({ uid: m.uid, source: m.source });
      }
      const results = await Promise.allSettled(
        got.map(async (g) =>
          note(g.uid, await d.intake.receive(g.source, { envelope: ENVELOPE, source: ref(d, pos(g.uid)) })),
        ),
      );
      save();
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }

    for (const c of big) {
      const dl = await client.download(String(c.uid), undefined, { uid: true });
      if (!dl.content) continue; // vanished meanwhile: not listed next pass, the cursor passes it
      try {
        note(
          c.uid,
          await d.intake.receiveStream(dl.content, {
            envelope: ENVELOPE,
            source: ref(d, pos(c.uid)),
            maxBytes: d.cfg.maxMessageSize,
          }),
        );
      } catch (err) {
        if (!(err instanceof SizeLimitError)) throw err;
        await oversize(d, pos(c.uid), c.size);
        inLedger.add(c.uid);
      }
      save();
    }
    return { ids, remaining: listed.length - batch.length };
  } finally {
    lock.release();
  }
}

function ref(d: FetchDeps, key: string) {
  return { kind: 'imap' as const, source: d.source, positionKey: key };
}

async function oversize(d: FetchDeps, key: string, size: number): Promise<void> {
  const id = await recordOversize(d.intake, {
    source: d.source,
    positionKey: key,
    size,
    maxSize: d.cfg.maxMessageSize,
    policy: d.cfg.oversize,
  });
  d.log.warn(
    { action: 'oversize', positionKey: key, size, max: d.cfg.maxMessageSize, policy: d.cfg.oversize, id },
    'message over size limit',
  );
}
