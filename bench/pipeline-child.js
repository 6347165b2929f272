// One benchmark run in its own process: replay a directory through the pipeline and print
// {messages, seconds, rate, maxRssMB} as JSON. Usage: node pipeline-child.js <dir> <workdir>
process.env.UV_THREADPOOL_SIZE ??= '16';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApp } from '../dist/app.js';
import { validateConfig } from '../dist/config/load.js';
import { replay, replayItems } from '../dist/cli/replay.js';

const [input, work] = process.argv.slice(2);
const config = validateConfig({
  store: { sqlite: join(work, 'db.sqlite'), spool: join(work, 'spool'), attachments: join(work, 'att') },
  log: { level: 'silent' },
  pipeline: { parseWorkers: Number(process.env.BENCH_PARSE_WORKERS ?? 0) },
  routes: [{ name: 'all', handlers: ['out'] }],
  // BENCH_HANDLER=file: .eml + JSON sidecar of the full parse (maildir needs only the header block).
  handlers: { out: { [process.env.BENCH_HANDLER ?? 'maildir']: { path: join(work, 'out') } } },
});
const app = createApp(config, work, pino({ level: 'silent' }));
const items = await replayItems([input]);
const t0 = process.hrtime.bigint();
app.pipeline.start();
await replay(app, items);
await app.pipeline.idle();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const counts = app.store.counts().byStatus;
await app.close();
process.stdout.write(
  `${JSON.stringify({ messages: items.length, counts, seconds: +seconds.toFixed(2), rate: Math.round(items.length / seconds), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
