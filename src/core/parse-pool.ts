/**
 * Parse + classify off the event loop: a small pool of worker threads running `parseMessage` and
 * `classify` (see parse-worker.ts), so the SMTP listener and the fetchers keep their thread.
 *
 * - Jobs go to the worker with the fewest jobs in flight; a worker runs several parses at once.
 * - Results come back by structured clone (the headers Map survives; attachment contents come back
 *   as Uint8Array and are re-wrapped as Buffers without a copy).
 * - Errors come back as {name, code, retryable, message} and are re-created so `classifyFailure`
 *   gives the same verdict as on the main thread (a PARSE PermanentError stays permanent).
 * - A worker that exits or crashes rejects its in-flight jobs as temporary failures and is
 *   replaced on the next job; nothing waits on a dead worker.
 * - Workers are unref'd while idle, so the pool never keeps the process alive; `close()` ends them.
 * - `size: 0`, or running from TypeScript sources (vitest loads `src/*.ts` through vite, and a
 *   worker thread cannot load a `.ts` file), parses on the calling thread exactly as before. Tests
 *   that want real threads pass `workerUrl` pointing at the built `dist/core/parse-worker.js`.
 */
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { classify } from './classify/index.js';
import type { Classification } from './classify/types.js';
import { MailintakeError, PermanentError, TemporaryError } from './errors.js';
import type { ParseLimits } from './parse.js';
import { parser, parserIfLoaded } from './parse-lazy.js';
import type { AttachmentInfo, ParsedMessage } from './parsed.js';

export interface Analysis {
  parsed: ParsedMessage;
  classification: Classification;
}

export interface AnalyseInput {
  raw: Buffer;
  /** When set, the message is parsed from this file (streamed) instead of from `raw`. */
  path: string | null;
  limits: ParseLimits;
  key: string;
}

/** Test hooks, honoured only by a pool created with `testHooks: true`. */
export type TestHook = 'exit' | 'hang';

// ---- wire format (shared with parse-worker.ts) ----

export interface WorkerRequest {
  id: number;
  /** The message bytes (transferred). Null when the worker parses from `path`. */
  raw: ArrayBuffer | null;
  path: string | null;
  limits: ParseLimits;
  key: string;
  testHook?: TestHook;
}

export type WireAttachment = Omit<AttachmentInfo, 'content'> & { content: Uint8Array | null };
export type WireParsed = Omit<ParsedMessage, 'attachments'> & { attachments: WireAttachment[] };

export interface WireError {
  /** 'mailintake': a MailintakeError (typed, carries retryable); 'error': anything else. */
  kind: 'mailintake' | 'error';
  name: string;
  code: string | null;
  retryable: boolean;
  message: string;
}

export type WorkerResponse =
  | { id: number; ok: true; parsed: WireParsed; classification: Classification | null }
  | { id: number; ok: false; error: WireError };

export function toWireError(err: unknown): WireError {
  if (err instanceof MailintakeError)
    return {
      kind: 'mailintake',
      name: err.name,
      code: err.code,
      retryable: err.retryable,
      message: err.message,
    };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      kind: 'error',
      name: err.name,
      code: typeof code === 'string' ? code : null,
      retryable: true,
      message: err.message,
    };
  }
  return { kind: 'error', name: 'Error', code: null, retryable: true, message: String(err) };
}

/** Re-creates an error of the same kind, so `classifyFailure` decides exactly as for the original. */
export function fromWireError(e: WireError): Error {
  if (e.kind === 'mailintake')
    return e.retryable
      ? new TemporaryError(e.message, e.code ?? undefined)
      : new PermanentError(e.message, e.code ?? undefined);
  const err = new Error(e.message) as NodeJS.ErrnoException;
  err.name = e.name;
  if (e.code !== null) err.code = e.code;
  return err;
}

function fromWireParsed(p: WireParsed): ParsedMessage {
  return {
    ...p,
    attachments: p.attachments.map((a) => ({
      ...a,
      content: a.content ? Buffer.from(a.content.buffer, a.content.byteOffset, a.content.length) : null,
    })),
  };
}

// ---- the pool ----

interface Pending {
  resolve: (r: { parsed: ParsedMessage; classification: Classification | null }) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker | null;
  jobs: Map<number, Pending>;
  lastError: Error | null;
}

export interface ParsePoolOptions {
  /** Worker threads; 0 parses on the calling thread. */
  size: number;
  /** The worker entry; defaults to `./parse-worker.js` next to this module. */
  workerUrl?: URL;
  testHooks?: boolean;
}

export class ParsePool {
  private readonly slots: Slot[];
  private readonly url: URL;
  private readonly testHooks: boolean;
  private nextId = 1;
  private closed = false;

  constructor(opts: ParsePoolOptions) {
    this.url = opts.workerUrl ?? new URL('./parse-worker.js', import.meta.url);
    this.testHooks = opts.testHooks === true;
    // Running from .ts sources (vitest via vite): a worker cannot load the .ts entry, so parse on
    // this thread unless the caller named a built worker file explicitly.
    const fromSources = !opts.workerUrl && import.meta.url.endsWith('.ts');
    const size = fromSources ? 0 : Math.max(0, Math.floor(opts.size));
    this.slots = Array.from({ length: size }, () => ({ worker: null, jobs: new Map(), lastError: null }));
  }

  /** True when parsing runs in worker threads. */
  get threaded(): boolean {
    return this.slots.length > 0;
  }

  /** Parses and classifies one message. */
  async analyse(input: AnalyseInput, testHook?: TestHook): Promise<Analysis> {
    if (!this.threaded) {
      const { parseMessage } = parserIfLoaded() ?? (await parser());
      const parsed = await parseMessage(
        input.path ? createReadStream(input.path) : input.raw,
        input.limits,
        input.key,
      );
      return { parsed, classification: classify(input.raw) };
    }
    if (this.closed) throw new TemporaryError('parse pool is closed', 'WORKER_CLOSED');
    if (input.path) {
      // Big message: the worker streams the file itself; classify's work is bounded (header scan,
      // at most MAX_DEEP_BYTES of body), and copying the whole message to the worker would cost more.
      const { parsed } = await this.submit(
        { raw: null, path: input.path, limits: input.limits, key: input.key },
        testHook,
      );
      return { parsed, classification: classify(input.raw) };
    }
    // A copy of exactly the message's bytes (a Buffer may be a view on a larger pool), transferred.
    const copy = new Uint8Array(input.raw);
    const { parsed, classification } = await this.submit(
      { raw: copy.buffer, path: null, limits: input.limits, key: input.key },
      testHook,
      [copy.buffer],
    );
    return { parsed, classification: classification ?? classify(input.raw) };
  }

  private submit(
    req: Omit<WorkerRequest, 'id'>,
    testHook: TestHook | undefined,
    transfer: ArrayBuffer[] = [],
  ): Promise<{ parsed: ParsedMessage; classification: Classification | null }> {
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.jobs.size < slot.jobs.size) slot = s;
    const worker = slot.worker ?? this.spawn(slot);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      worker.ref();
      const msg: WorkerRequest = { ...req, id };
      if (testHook && this.testHooks) msg.testHook = testHook;
      try {
        worker.postMessage(msg, transfer);
      } catch (err) {
        slot.jobs.delete(id);
        if (!slot.jobs.size) worker.unref();
        reject(
          new TemporaryError(
            `could not hand the message to a parse worker: ${(err as Error).message}`,
            'WORKER',
          ),
        );
      }
    });
  }

  private spawn(slot: Slot): Worker {
    const worker = new Worker(this.url, { workerData: { testHooks: this.testHooks } });
    slot.worker = worker;
    slot.lastError = null;
    worker.unref();
    worker.on('message', (res: WorkerResponse) => {
      const job = slot.jobs.get(res.id);
      if (!job) return;
      slot.jobs.delete(res.id);
      if (!slot.jobs.size) worker.unref();
      if (res.ok) job.resolve({ parsed: fromWireParsed(res.parsed), classification: res.classification });
      else job.reject(fromWireError(res.error));
    });
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => {
      if (slot.worker === worker) slot.worker = null; // replaced on the next job
      const why = slot.lastError ? `: ${slot.lastError.message}` : '';
      const jobs = [...slot.jobs.values()];
      slot.jobs.clear();
      for (const j of jobs)
        j.reject(
          new TemporaryError(
            `parse worker exited (code ${code})${why}`,
            'WORKER_EXIT',
            slot.lastError ?? undefined,
          ),
        );
    });
    return worker;
  }

  /** Ends the workers; jobs still in flight fail as temporary (the pipeline is stopped first). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        s.worker = null;
        if (w) await w.terminate();
      }),
    );
  }
}
