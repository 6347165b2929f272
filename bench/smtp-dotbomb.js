// A hostile message against `mailintake run --push`: MB megabytes of dot-stuffed lines ("..\r\n",
// each an escape dot, or another --pattern, repeated; \r and \n are understood), while a
// well-behaved client sends a small message every 20 ms. Prints the time to the hostile message's
// reply, the server's CPU time for it, and the small messages' latency meanwhile. The server drops
// the messages (route action: drop): this measures the listener.
//
//   node bench/smtp-dotbomb.js [--mb 5] [--pattern '..\r\n'] [--root DIR]
//
// `--root` runs the listener of another checkout (built), for a before/after comparison.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from './node-flags.js';

const opt = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const MB = Number(opt('mb', '5'));
const PATTERN = opt('pattern', '..\\r\\n').replace(/\\r/g, '\r').replace(/\\n/g, '\n');
const root = resolve(opt('root', join(dirname(fileURLToPath(import.meta.url)), '..')));

const dir = mkdtempSync(join(tmpdir(), 'mi-bench-dotbomb-'));
const port = 30_000 + Math.floor(Math.random() * 20_000);
const cfg = join(dir, 'cfg.yaml');
writeFileSync(
  cfg,
  `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }
log: { level: warn }
push: { listen: "127.0.0.1:${port}", hostname: bench.test, domains: [example.test], maxSize: 25MB }
routes: [ { name: all, action: drop } ]
`,
);
const child = spawn('node', [...nodeFlags(), join(root, 'dist/cli/main.js'), 'run', '--push', '-c', cfg], {
  stdio: 'inherit',
});

/** User + system CPU of the server so far, ms. */
function cpuMs() {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** One SMTP session sending `body` (which ends with the terminator); resolves with the last reply. */
function session(body) {
  return new Promise((done, fail) => {
    const s = connect(port, '127.0.0.1');
    s.setNoDelay(true); // each command is one small write: no Nagle wait for the previous one's ACK
    const steps = [
      'EHLO client.test\r\n',
      'MAIL FROM:<a@client.test>\r\n',
      'RCPT TO:<x@example.test>\r\n',
      'DATA\r\n',
      body,
    ];
    const t0 = performance.now();
    let buf = '';
    let step = 0;
    s.on('error', fail);
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line[3] === '-') continue;
        if (step < steps.length) s.write(steps[step++]);
        else {
          s.end('QUIT\r\n');
          done({ ms: performance.now() - t0, reply: line });
          return;
        }
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const small = Buffer.from('Subject: small\r\n\r\nhello\r\n.\r\n');
for (let i = 0; ; i++) {
  try {
    await session(small); // up, and its code warm for small messages
    break;
  } catch (err) {
    if (i > 100) throw err;
    await sleep(100);
  }
}
const alone = [];
for (let i = 0; i < 10; i++) alone.push((await session(small)).ms);
alone.sort((a, b) => a - b);
const bomb = Buffer.concat([
  Buffer.from('Subject: hostile\r\n\r\n'),
  Buffer.from(PATTERN.repeat(Math.ceil((MB * 1024 * 1024) / PATTERN.length)), 'latin1'),
  Buffer.from('\r\n.\r\n'),
]);
const cpu0 = cpuMs();
let over = false;
const latencies = [];
const meanwhile = (async () => {
  while (!over) {
    latencies.push((await session(small)).ms);
    await sleep(20);
  }
})();
const hostile = await session(bomb);
const cpu = cpuMs() - cpu0;
over = true;
await meanwhile;
latencies.sort((a, b) => a - b);
console.log(
  `${root}: ${MB} MB of ${JSON.stringify(PATTERN)}: "${hostile.reply.slice(0, 14)}" after ${hostile.ms.toFixed(0)} ms, ` +
    `server CPU ${cpu} ms; small messages meanwhile: ${latencies.length}, ` +
    `p50 ${latencies[latencies.length >> 1]?.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms ` +
    `(alone, before: p50 ${alone[5].toFixed(1)} ms)`,
);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(dir, { recursive: true, force: true });
