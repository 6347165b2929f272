/**
 * Worker-thread entry of the parse pool (parse-pool.ts): runs `parseMessage` (from the transferred
 * bytes, or streamed from the spool file for big messages) and `classify`, and posts the result or
 * the error's {name, code, retryable, message} back. Several jobs may run at once.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { classify } from './classify/index.js';
import { parseMessage } from './parse.js';
import { toWireError, type WireAttachment, type WorkerRequest, type WorkerResponse } from './parse-pool.js';

const port = parentPort;
if (!port) throw new Error('parse-worker.js runs only as a worker thread');
const testHooks = (workerData as { testHooks?: boolean } | null)?.testHooks === true;

port.on('message', (req: WorkerRequest) => {
  if (testHooks && req.testHook === 'exit') process.exit(1);
  if (testHooks && req.testHook === 'hang') return;
  void handle(req);
});

async function handle(req: WorkerRequest): Promise<void> {
  let res: WorkerResponse;
  const transfer: ArrayBuffer[] = [];
  try {
    const raw = req.raw ? Buffer.from(req.raw) : null;
    const input = req.path !== null ? createReadStream(req.path) : raw;
    if (!input) throw new Error('parse job without bytes or path');
    const parsed = await parseMessage(input, req.limits, req.key);
    const classification = raw ? classify(raw) : null;
    const attachments: WireAttachment[] = parsed.attachments.map((a) => {
      if (!a.content) return { ...a, content: null };
      // Exactly the content's bytes (Buffer.concat may return a view on a shared pool), transferred.
      const content = new Uint8Array(a.content);
      transfer.push(content.buffer);
      return { ...a, content };
    });
    res = { id: req.id, ok: true, parsed: { ...parsed, attachments }, classification };
  } catch (err) {
    transfer.length = 0;
    res = { id: req.id, ok: false, error: toWireError(err) };
  }
  port!.postMessage(res, transfer);
}
