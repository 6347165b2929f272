/**
 * Downloading the planned messages into intake. RETRs are pipelined (up to `window` in flight, when
 * the server advertises PIPELINING; otherwise the client queues them back to back) and each message
 * goes to intake as soon as it is complete, so network transfer, spool fsyncs and ledger group
 * commits overlap. Messages up to `streamThreshold` are buffered; bigger ones stream into the spool
 * (memory stays bounded by window × threshold). Nothing here touches the server's copy.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { SizeLimitError } from '../../core/errors.js';
import type { Intake, IntakeRequest, IntakeResult } from '../../core/intake.js';
import type { Store } from '../../store/types.js';
import { Pop3Error, type Pop3Client } from './client.js';
import { recordOversize } from './oversize.js';
import { positionKey, type Listed } from './plan.js';

export interface FetchDeps {
  source: string;
  intake: Intake;
  store: Store;
  log: Logger;
  maxMessageSize: number;
  streamThreshold: number;
  window: number;
  /** Download no further while this many received messages wait for the pipeline. */
  backlogLimit: number;
  now: () => number;
  /** Stop issuing new RETRs (source stopping). */
  stopping: () => boolean;
}

export interface FetchReport {
  /** Ledger ids created by this pass (to await their outcomes). */
  ids: number[];
  fetched: number;
  bytes: number;
  /** Per-message failures that left the session usable (e.g. -ERR on one RETR). */
  errors: number;
}

const ENVELOPE = { mailFrom: null, rcptTo: [] as string[] };

/** Records an oversize message (dead, left on the server). */
export async function quarantineOversize(d: FetchDeps, m: Listed, size = m.size): Promise<number> {
  const key = positionKey(d.source, m.uid);
  const id = await recordOversize(d.intake, {
    source: d.source,
    positionKey: key,
    size,
    maxSize: d.maxMessageSize,
  });
  d.log.warn({ action: 'oversize', positionKey: key, size, max: d.maxMessageSize, id }, 'message over size limit, left on server'); // prettier-ignore
  return id;
}

/** Fetches `items` into intake. Throws when the session fails (what was committed stays committed). */
export async function fetchInto(
  client: Pop3Client,
  d: FetchDeps,
  items: readonly Listed[],
): Promise<FetchReport> {
  const report: FetchReport = { ids: [], fetched: 0, bytes: 0, errors: 0 };
  let fatal: unknown;
  const one = async (m: Listed): Promise<void> => {
    const req: IntakeRequest = {
      envelope: ENVELOPE,
      source: { kind: 'pop3', source: d.source, positionKey: positionKey(d.source, m.uid) },
      receivedAt: new Date(d.now()),
    };
    let r: IntakeResult;
    try {
      r = m.size <= d.streamThreshold ? await d.intake.receive(await client.retr(m.n), req) : await streamed(client, d, m, req); // prettier-ignore
    } catch (err) {
      if (err instanceof SizeLimitError) {
        report.ids.push(await quarantineOversize(d, m, d.maxMessageSize + 1));
        return;
      }
      if (err instanceof Pop3Error && !client.closed && (err.code === 'ERR' || err.code === 'SIZE')) {
        // One message refused (e.g. removed by another client); the session is still good.
        report.errors++;
        d.log.warn(
          { action: 'pop3-retr-failed', uid: m.uid, code: err.code, err: err.message },
          'RETR failed',
        );
        return;
      }
      throw err;
    }
    if (r.created) report.ids.push(r.row.id);
    report.fetched++;
    report.bytes += r.row.size;
  };

  const tasks: Array<Promise<void>> = [];
  let next = 0;
  for (let i = 0; i < items.length; i++) {
    while (next < items.length && next - i < d.window && fatal === undefined && !d.stopping()) {
      // Paced by the pipeline; at least one RETR stays in flight so the session keeps moving.
      if (next > i) await d.intake.room(d.backlogLimit);
      if (fatal !== undefined || d.stopping()) break;
      tasks.push(one(items[next++] as Listed).catch((err: unknown) => void (fatal ??= err)));
    }
    if (i >= tasks.length) break;
    await tasks[i];
    if (fatal !== undefined) break;
  }
  await Promise.all(tasks);
  if (fatal !== undefined) throw fatal;
  return report;
}

/** RETR streamed straight into the spool (big messages). */
async function streamed(
  client: Pop3Client,
  d: FetchDeps,
  m: Listed,
  req: IntakeRequest,
): Promise<IntakeResult> {
  const pt = new PassThrough({ highWaterMark: 1024 * 1024 });
  const received = d.intake.receiveStream(pt, { ...req, maxBytes: d.maxMessageSize });
  const retr = client.retrTo(m.n, pt).then(
    () => {
      if (!pt.destroyed) pt.end();
    },
    (err: unknown) => {
      pt.destroy(err instanceof Error ? err : new Error(String(err)));
      throw err;
    },
  );
  const [r] = await Promise.all([received, retr]);
  return r;
}
