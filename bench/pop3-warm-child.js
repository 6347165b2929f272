// One long-running worker's POP3 poll, for bench/pop3-compare.js `mailintake-warm`: the app and
// its POP3 source are created once, a first poll drains a warm-up mailbox (Node's JIT compiles the
// hot code then), and the timed poll runs when the parent says "go" on stdin, after it refilled
// the mailbox. As `mailintake run` does between scheduled polls: no process start-up, warm code.
// Prints "warm", then one JSON line {wall, cpu, rss} for the timed poll.
import { createApp } from '../dist/app.js';
import { loadConfig } from '../dist/config/load.js';
import { createLogger } from '../dist/log.js';
import { outcomeWaiter } from '../dist/service/outcomes.js';
import { createSource } from '../dist/sources/registry.js';

const { config, baseDir } = loadConfig(process.argv[2]);
// The configured level, as `run --once` logs (to stderr: stdout carries the results).
const log = createLogger({ level: config.log.level });
const app = createApp(config, baseDir, log);
app.pipeline.start();
const [name, sourceConfig] = Object.entries(config.sources)[0];
const source = await createSource({
  name,
  config: sourceConfig,
  intake: app.intake,
  store: app.store,
  log,
  onOutcome: (fn) => app.pipeline.onOutcome(fn),
  awaitOutcomes: outcomeWaiter(app.store, app.pipeline),
  baseDir,
});

/** What `run --once` does for one source: a pass, the pipeline drained, a settling pass if needed. */
async function poll() {
  await source.runOnce();
  await app.pipeline.idle();
  if (app.store.unsettledCount(name)) await source.runOnce();
  await app.pipeline.idle();
}

await poll();
process.stdout.write('warm\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await poll();
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const rss = process.memoryUsage().rss / 1024 / 1024;
process.stdout.write(`${JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1e6, rss })}\n`);
await app.close();
process.exit(0);
