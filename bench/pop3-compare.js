// POP3 throughput: mailintake `run --once` against mpop, fetchmail and getmail6 (Debian packages),
// each fetching the same mailbox (refilled identically with the harness's saveMany) from a private
// Dovecot over loopback, in delete mode, delivering into a Maildir on disk. Wall time and peak RSS
// come from /usr/bin/time -v; every tool must deliver all N messages and leave the mailbox empty.
//
//   npm run build && node bench/pop3-compare.js [--messages 2000,10000] [--tools mailintake,mpop,...]
//   BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" adds node flags to the mailintake runs (profiling);
//   BENCH_LOG=FILE keeps the `run --once` log (stderr, then stdout: e.g. --trace-gc output).
//
// `mailintake-c32` is the same run with `pipeline: { concurrency: 32 }`. `mailintake-warm` times one
// poll of a long-running worker instead of `run --once` (see bench/pop3-warm-child.js).
//
// Mail: bench/gen.js mixedMessage() bodies with log-uniform sizes (1 KB .. 400 KB), scaled so that
// 2,000 messages are 99 MB (same average for other counts). fetchmail has no Maildir writer: it
// uses an MDA per message (`sh -c` tmp+rename into the Maildir). mailintake's Maildir handler and
// spool fsync every message; mpop fsyncs too; getmail and the fetchmail MDA do not.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mixedMessage } from './gen.js';
import { serverNodeFlags } from './node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const COUNTS = opt('messages', '2000,10000').split(',').map(Number);
const TOOLS = opt('tools', 'mailintake,mailintake-c32,mpop,fetchmail,getmail').split(',');
const work = mkdtempSync(join(tmpdir(), 'mi-pop3-bench-'));

// The Dovecot harness is TypeScript: compile it once into the work dir.
execFileSync(join(root, 'node_modules/.bin/tsc'), [
  '--outDir', join(work, 'harness'), '--module', 'nodenext', '--moduleResolution', 'nodenext',
  '--target', 'es2022', '--skipLibCheck', '--types', 'node', join(root, 'test/harness/dovecot.ts'),
]); // prettier-ignore
const { startDovecot, uniqueUser } = await import(join(work, 'harness/dovecot.js'));

function messages(n) {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const raw = Array.from({ length: n }, () => Math.exp(Math.log(1024) + rnd() * Math.log(400)));
  const scale = ((99 * 1024 * 1024) / 2000) * (n / raw.reduce((a, b) => a + b, 0));
  return raw.map((s, i) => mixedMessage(i, Math.max(600, Math.round(s * scale))));
}

function timed(cmd, args, opts = {}) {
  const r = spawnSync('/usr/bin/time', ['-v', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    ...opts,
  });
  const m = /Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const wall = m ? Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) : NaN;
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024;
  const secs = (re) => Number(re.exec(r.stderr)?.[1] ?? NaN);
  const cpu = secs(/User time \(seconds\): ([\d.]+)/) + secs(/System time \(seconds\): ([\d.]+)/);
  if (r.status !== 0) console.error(`${cmd} exited ${r.status}: ${r.stderr.slice(-1500)}`);
  return { wall, rss, cpu, stdout: r.stdout, stderr: r.stderr };
}

const count = (dir) => readdirSync(join(dir, 'new')).length + readdirSync(join(dir, 'cur')).length;
function maildir(dir) {
  for (const s of ['tmp', 'new', 'cur']) mkdirSync(join(dir, s), { recursive: true });
  return dir;
}

function mailintakeConfig(dc, u, dir, extra = []) {
  const md = maildir(join(dir, 'Maildir'));
  const cfg = join(dir, 'cfg.yaml');
  writeFileSync(cfg, [
      `store: { sqlite: ${dir}/db.sqlite, spool: ${dir}/spool, attachments: ${dir}/att }`,
      'log: { level: info }',
      'sources:',
      '  box:',
      `    pop3: { host: 127.0.0.1, port: ${dc.ports.pop3}, secure: false, starttls: false, user: ${u.user}, password: ${u.password}, maxMessageSize: 50MB }`,
      'routes: [{ name: all, handlers: [md] }]',
      `handlers: { md: { maildir: { path: ${md} } } }`,
      ...extra,
      '',
    ].join('\n')); // prettier-ignore
  return { md, cfg };
}

const runners = {
  mailintake(dc, u, dir, _raws, extra = []) {
    const { md, cfg } = mailintakeConfig(dc, u, dir, extra);
    const r = timed(
      process.execPath,
      [...serverNodeFlags(), join(root, 'dist/cli/main.js'), 'run', '--once', '-c', cfg],
      {
        env: { ...process.env, LOG_FORMAT: 'json' },
      },
    );
    if (process.env.BENCH_LOG) writeFileSync(process.env.BENCH_LOG, r.stderr + r.stdout); // stdout: e.g. --trace-gc
    const line = r.stderr.split('\n').find((l) => l.includes('"action":"pop3-run"'));
    const fetchMs = line ? JSON.parse(line).fetchMs : NaN;
    return { ...r, md, note: `fetch into spool ${(fetchMs / 1000).toFixed(2)} s` };
  },
  /**
   * A long-running worker's poll (bench/pop3-warm-child.js): the worker is started and drains a
   * warm-up mailbox of 2,000 other messages first; the timed poll fetches the N messages saved
   * after that. Wall and CPU are the poll's own; peak RSS includes the warm-up.
   */
  async 'mailintake-warm'(dc, u, dir, raws) {
    const { md, cfg } = mailintakeConfig(dc, u, dir);
    await dc.saveMany(u.user, 'INBOX', messages(2000));
    const child = spawn(
      process.execPath,
      [...serverNodeFlags(), join(root, 'bench/pop3-warm-child.js'), cfg],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d.toString()).slice(-3000)));
    const line = (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out);
          if (m) return resolve(m[0]);
        };
        child.stdout.on('data', (d) => {
          out += d.toString();
          check();
        });
        child.once('exit', (code) => reject(new Error(`pop3-warm-child exited ${code}: ${out}${err}`)));
        check();
      });
    await line(/^warm$/m);
    await dc.saveMany(u.user, 'INBOX', raws);
    child.stdin.write('go\n');
    const r = JSON.parse(await line(/^\{.*\}$/m));
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve()));
    return {
      wall: r.wall,
      rss: r.rss,
      cpu: r.cpu,
      md,
      delivered: (got) => got - 2000,
      note: 'warm worker, one poll',
    };
  },
  /** The same with pipeline.concurrency 32 (handler fsyncs overlap more). */
  'mailintake-c32'(dc, u, dir) {
    return runners.mailintake(dc, u, dir, null, ['pipeline: { concurrency: 32 }']);
  },
  mpop(dc, u, dir) {
    const md = maildir(join(dir, 'Maildir'));
    const rc = join(dir, 'mpoprc');
    writeFileSync(rc, [
      'account default', 'host 127.0.0.1', `port ${dc.ports.pop3}`, 'tls off', 'auth user',
      `user ${u.user}`, `password ${u.password}`, `delivery maildir ${md}`, 'keep off',
      `uidls_file ${dir}/uidls`, '',
    ].join('\n')); // prettier-ignore
    chmodSync(rc, 0o600);
    return { ...timed('mpop', ['-C', rc, '-q']), md };
  },
  fetchmail(dc, u, dir) {
    const md = maildir(join(dir, 'Maildir'));
    const rc = join(dir, 'fetchmailrc');
    const mda = `/bin/sh -c 'f=$(date +%s.%N).$$.fm; cat > ${md}/tmp/$f && mv ${md}/tmp/$f ${md}/new/$f'`;
    writeFileSync(
      rc,
      [
        `set no syslog`,
        `poll 127.0.0.1 service ${dc.ports.pop3} protocol pop3 auth password uidl`,
        `  user "${u.user}" password "${u.password}" is root here`,
        `  sslproto '' nokeep fetchall mda "${mda}"`,
        '',
      ].join('\n'),
    );
    chmodSync(rc, 0o600);
    return { ...timed('fetchmail', ['-f', rc, '-i', join(dir, 'fetchids'), '--pidfile', join(dir, 'pid'), '-s'], { env: { ...process.env, HOME: dir } }), md }; // prettier-ignore
  },
  getmail(dc, u, dir) {
    const md = maildir(join(dir, 'Maildir'));
    const rc = join(dir, 'getmailrc');
    const root0 = process.getuid?.() === 0;
    if (root0) {
      for (const d of [work, dir]) chmodSync(d, 0o755);
      execFileSync('chown', ['-R', 'mail:mail', md]);
    }
    writeFileSync(rc, [
      '[retriever]', 'type = SimplePOP3Retriever', 'server = 127.0.0.1', `port = ${dc.ports.pop3}`,
      `username = ${u.user}`, `password = ${u.password}`,
      // getmail refuses to deliver as root: deliver as `mail` into a Maildir it owns.
      '[destination]', 'type = Maildir', `path = ${md}/`, ...(root0 ? ['user = mail'] : []),
      '[options]', 'delete = true', 'read_all = true', 'verbose = 0', '',
    ].join('\n')); // prettier-ignore
    return { ...timed('getmail', [`--getmaildir=${dir}`, `--rcfile=${rc}`]), md };
  },
};

const dc = await startDovecot();
const rows = [];
try {
  for (const n of COUNTS) {
    const raws = messages(n);
    const mb = raws.reduce((a, b) => a + b.length, 0) / 1024 / 1024;
    for (const tool of TOOLS) {
      const u = uniqueUser(tool);
      await dc.addUser(u.user, u.password);
      if (tool !== 'mailintake-warm') await dc.saveMany(u.user, 'INBOX', raws);
      const dir = mkdtempSync(join(work, `${tool}-${n}-`));
      const r = await runners[tool](dc, u, dir, raws);
      const got = r.delivered ? r.delivered(count(r.md)) : count(r.md);
      const left = (await dc.list(u.user, 'INBOX')).length;
      rows.push({ n, mb, tool, wall: r.wall, rss: r.rss, cpu: r.cpu, got, left, note: r.note ?? '' });
      console.error(
        `${tool} ${n}: ${r.wall.toFixed(2)} s, ${r.rss.toFixed(0)} MB, delivered ${got}, left ${left}`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
  }
} finally {
  await dc.close();
  rmSync(work, { recursive: true, force: true });
}

const pad = (s, w) => String(s).padEnd(w);
console.log(`\n${pad('messages', 10)}${pad('MB', 8)}${pad('tool', 16)}${pad('wall s', 9)}${pad('msg/s', 8)}${pad('peak RSS MB', 13)}${pad('CPU s', 8)}${pad('vs mailintake', 15)}${pad('delivered/left', 16)}notes`); // prettier-ignore
for (const r of rows) {
  const base = rows.find((x) => x.n === r.n && x.tool === 'mailintake');
  const ratio = base ? `${(r.wall / base.wall).toFixed(2)}x` : '';
  console.log(`${pad(r.n, 10)}${pad(r.mb.toFixed(0), 8)}${pad(r.tool, 16)}${pad(r.wall.toFixed(2), 9)}${pad(Math.round(r.n / r.wall), 8)}${pad(r.rss.toFixed(0), 13)}${pad(r.cpu.toFixed(2), 8)}${pad(ratio, 15)}${pad(`${r.got}/${r.left}`, 16)}${r.note}`); // prettier-ignore
}
