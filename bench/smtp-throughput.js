// SMTP push throughput: mailintake's listener (fsync of spool file + directory + SQLite commit before
// every 250) against Python's aiosmtpd keeping mail in memory, fed by the same raw-socket senders.
// Each server runs in its own child process; 2,000 mixed messages (~50 KB average, ~99 MB) are sent
// by 1 and by 8 concurrent senders (one connection each, several messages per connection).
//
//   npm run build && node bench/smtp-throughput.js [--messages 2000] [--runs 1] [--handler maildir|file|drop]
//        [--servers aiosmtpd,smtp-server,smtp-server-durable,mailintake] [--senders 1,8] [--warmup 0]
//        [--phases] [--batch-delay MS]
//   BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" adds node flags to mailintake's server (profiling).
//
// --warmup N: each server first receives N other messages, not timed (Node's JIT compiles the hot
// code during the first thousands of messages; a long-running listener is past that).
//
// --handler: what the route does with each message: `maildir` (default, as the Quick start: raw
// bytes into a Maildir, header-only parse), `file` (.eml plus a JSON sidecar of the full parse),
// `drop` (intake, header parse and classification only; `--drop` is the same).
//
// `smtp-server` is the bare library mailintake's listener is built on, as an in-memory sink, and
// `smtp-server-durable` the same with the least a durable 250 needs (file + fdatasync, directory
// fsync, SQLite row + WAL fdatasync, per message; bench/smtp-sink.mjs): what the library and plain
// durability cost, next to what mailintake adds.
//
// --phases: per message, as the senders see them, the time each reply takes (MAIL → 250, RCPT → 250,
// DATA → 354, and from the end of the message's data to its 250): where a server spends a cycle.
// --batch-delay MS: mailintake's pipeline.batchDelay (default 5 ms; 0 handles each message at once).
//
// Prints a table of messages/s and MB/s and each server's ratio to aiosmtpd.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverNodeFlags } from './node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('messages', 2000);
const RUNS = arg('runs', 1);
/** Messages each server receives, unmeasured, before the timed run (other messages than the timed
 * ones: a resent copy would be a duplicate, which costs mailintake less). For the JIT's warm-up. */
const WARMUP = arg('warmup', 0);
const hi = process.argv.indexOf('--handler');
const HANDLER = process.argv.includes('--drop') ? 'drop' : hi > 0 ? process.argv[hi + 1] : 'maildir';
if (!['maildir', 'file', 'drop'].includes(HANDLER))
  throw new Error(`--handler: maildir, file or drop, not ${HANDLER}`);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const si = process.argv.indexOf('--servers');
// `smtp-server`: the bare library as an in-memory sink (bench/smtp-sink.mjs), for reference.
const SERVERS = (si > 0 ? process.argv[si + 1] : 'aiosmtpd,smtp-server,smtp-server-durable,mailintake').split(
  ',',
);
const SENDERS = (
  process.argv.includes('--senders') ? process.argv[process.argv.indexOf('--senders') + 1] : '1,8'
)
  .split(',')
  .map(Number);

/** Deterministic mixed sizes (log-uniform 1 KB .. 400 KB), scaled to a 99 MB total (for 2,000). */
function makeMessages(n, totalBytes = 99 * 1024 * 1024) {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const raw = Array.from({ length: n }, () =>
    Math.exp(Math.log(1024) + rnd() * (Math.log(400 * 1024) - Math.log(1024))),
  );
  const scale = totalBytes / raw.reduce((a, b) => a + b, 0);
  return raw.map((s, i) => {
    const token = `${i}-${randomBytes(6).toString('hex')}`;
    const head =
      `From: <bench@client.test>\r\nTo: <bench@example.test>\r\nSubject: bench ${token}\r\n` +
      `Message-ID: <${token}@client.test>\r\nDate: Tue, 26 Nov 2026 01:02:03 +0000\r\n\r\n`;
    const want = Math.max(512, Math.round(s * scale)) - head.length;
    const lines = [];
    let len = 0;
    while (len < want) {
      const l = randomBytes(57).toString('base64');
      lines.push(l);
      len += l.length + 2;
    }
    return Buffer.from(`${head}${lines.join('\r\n')}\r\n.\r\n`, 'latin1'); // base64 lines never start with "."
  });
}

/** --phases: reply times per step, in µs, of the timed run (see `sender`). */
const PHASES = process.argv.includes('--phases') ? { mail: [], rcpt: [], data: [], dot: [] } : null;
const BATCH_DELAY = process.argv.includes('--batch-delay') ? arg('batch-delay', 5) : null;
const debug = (m) => process.env.BENCH_DEBUG && process.stderr.write(`${m}\n`);

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** One sender: one connection, sends its messages one after the other; resolves with the count of 250s. */
function sender(port, msgs) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    let buf = '';
    let i = 0;
    let ok = 0;
    let step = 'banner';
    /** When the last command (or the message's data) was written, for --phases. */
    let sentAt = 0n;
    const replied = (phase) => {
      if (PHASES) PHASES[phase].push(Number(process.hrtime.bigint() - sentAt) / 1e3);
    };
    const send = (s) => {
      sock.write(s);
      if (PHASES) sentAt = process.hrtime.bigint();
    };
    const next = () => {
      if (i >= msgs.length) {
        step = 'quit';
        sock.write('QUIT\r\n');
        return;
      }
      step = 'mail';
      send('MAIL FROM:<bench@client.test>\r\n');
    };
    sock.on('error', reject);
    sock.on('close', () => resolve(ok));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line[3] === '-') continue;
        const code = Number(line.slice(0, 3));
        if (process.env.BENCH_DEBUG) process.stderr.write(`[${step}] ${line.slice(0, 80)}\n`);
        if (step === 'banner') {
          step = 'ehlo';
          sock.write('EHLO bench.client.test\r\n');
        } else if (step === 'ehlo') next();
        else if (step === 'mail') {
          replied('mail');
          step = 'rcpt';
          send('RCPT TO:<bench@example.test>\r\n');
        } else if (step === 'rcpt') {
          replied('rcpt');
          step = 'data';
          send('DATA\r\n');
        } else if (step === 'data') {
          if (code !== 354) return reject(new Error(`DATA: ${line}`));
          replied('data');
          step = 'dot';
          send(msgs[i]);
        } else if (step === 'dot') {
          replied('dot');
          if (code === 250) ok++;
          else process.stderr.write(`non-250: ${line}\n`);
          i++;
          next();
        } else if (step === 'quit') sock.end();
      }
    });
  });
}

async function measure(port, msgs, senders) {
  const parts = Array.from({ length: senders }, () => []);
  msgs.forEach((m, i) => parts[i % senders].push(m));
  const t0 = process.hrtime.bigint();
  const oks = await Promise.all(parts.map((p) => sender(port, p)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { ok: oks.reduce((a, b) => a + b, 0), secs };
}

function startChild(cmd, args, readyRe, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d.toString();
      if (readyRe.test(out)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out.slice(-2000)}`)));
    child.once('spawn', () => child.stdout.resume());
  });
}

async function waitPort(port) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopChild(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  debug(`stopping ${child.pid}`);
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(t);
}

async function startMailintake(port) {
  const dir = mkdtempSync(join(tmpdir(), 'mi-bench-smtp-'));
  const cfg = join(dir, 'cfg.yaml');
  writeFileSync(
    cfg,
    `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }
log: { level: warn }
${BATCH_DELAY === null ? '' : `pipeline: { batchDelay: ${BATCH_DELAY} }`}
push: { listen: "127.0.0.1:${port}", hostname: bench.test, domains: [example.test], maxSize: 25MB }
routes:
  - ${HANDLER === 'drop' ? '{ name: all, action: drop }' : '{ name: all, handlers: [archive] }'}
handlers:
  archive: { ${HANDLER === 'file' ? 'file' : 'maildir'}: { path: ${dir}/out } }
`,
  );
  const child = spawn(
    'node',
    [...serverNodeFlags(), join(root, 'dist/cli/main.js'), 'run', '--push', '-c', cfg],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  await waitPort(port);
  return { child, dir };
}

/** User + system CPU time of a process so far, in ms (from /proc; the server's own cost). */
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

const msgs = makeMessages(N);
const totalMB = msgs.reduce((a, m) => a + m.length, 0) / 1024 / 1024;
console.log(
  `${N} messages, ${totalMB.toFixed(1)} MB, avg ${((totalMB * 1024) / N).toFixed(1)} KB; ${RUNS} run(s) each; route: ${HANDLER}; warm-up: ${WARMUP} messages`,
);
const results = [];
for (const senders of SENDERS) {
  for (const server of SERVERS) {
    let best = null;
    for (let r = 0; r < RUNS; r++) {
      const port = await freePort();
      let stop;
      let pid;
      if (server === 'aiosmtpd') {
        const child = await startChild(PYTHON, [join(root, 'bench/smtp-sink.py'), String(port)], /ready/);
        pid = child.pid;
        stop = () => stopChild(child, 'SIGKILL'); // an in-memory sink has nothing to flush
      } else if (server === 'smtp-server' || server === 'smtp-server-durable') {
        const dir = mkdtempSync(join(tmpdir(), 'mi-bench-sink-'));
        const args = [join(root, 'bench/smtp-sink.mjs'), String(port)];
        if (server === 'smtp-server-durable') args.push('--durable', dir);
        const child = await startChild('node', args, /ready/);
        pid = child.pid;
        stop = async () => {
          await stopChild(child, 'SIGKILL');
          rmSync(dir, { recursive: true, force: true });
        };
      } else {
        const { child, dir } = await startMailintake(port);
        pid = child.pid;
        stop = async () => {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        };
      }
      debug(`${server}: up on ${port}, sending`);
      if (WARMUP > 0) {
        const w = await measure(port, makeMessages(WARMUP, (99 * 1024 * 1024 * WARMUP) / N), senders);
        if (w.ok !== WARMUP) throw new Error(`${server}: warm-up: only ${w.ok}/${WARMUP} accepted`);
      }
      if (PHASES) for (const k of Object.keys(PHASES)) PHASES[k] = [];
      const cpu0 = cpuMs(pid);
      const res = await measure(port, msgs, senders);
      if (PHASES) res.phases = Object.fromEntries(Object.entries(PHASES).map(([k, v]) => [k, stats(v)]));
      res.cpuMs = cpuMs(pid) - cpu0;
      debug(`${server}: done, stopping`);
      await stop();
      if (res.ok !== N) throw new Error(`${server}: only ${res.ok}/${N} accepted`);
      if (!best || res.secs < best.secs) best = res;
    }
    results.push({
      phases: best.phases,
      server,
      senders,
      secs: best.secs,
      mps: N / best.secs,
      mbps: totalMB / best.secs,
      cpuPerMsg: best.cpuMs / N,
    });
  }
}
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: s[Math.floor(s.length / 2)] };
}

console.log('\nserver               senders   seconds   msg/s    MB/s  server CPU ms/msg   vs aiosmtpd');
for (const r of results) {
  const base = results.find((x) => x.server === 'aiosmtpd' && x.senders === r.senders);
  const ratio = base && r !== base ? (r.mps / base.mps).toFixed(2) : '';
  console.log(
    `${r.server.padEnd(20)} ${String(r.senders).padStart(7)} ${r.secs.toFixed(2).padStart(9)} ${r.mps.toFixed(0).padStart(7)} ${r.mbps.toFixed(1).padStart(7)} ${r.cpuPerMsg.toFixed(2).padStart(18)}   ${ratio}`,
  );
  if (r.phases) {
    const f = ({ mean, p50 }) => `${mean.toFixed(0)}/${p50.toFixed(0)}`;
    const { mail, rcpt, data, dot } = r.phases;
    console.log(
      `${''.padEnd(20)} reply µs (mean/p50): MAIL ${f(mail)}, RCPT ${f(rcpt)}, DATA ${f(data)}, data end → 250 ${f(dot)}`,
    );
  }
}
