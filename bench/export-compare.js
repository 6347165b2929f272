// Export speed: `mailintake export` against mbsync (isync) and offlineimap3 pulling the same
// Dovecot mailbox (10,000 mixed 5-100 KB messages by default) over loopback into a Maildir.
// Wall time, messages/s and peak RSS come from /usr/bin/time -v around each tool.
//
//   npm run build && node bench/export-compare.js [--messages 10000] [--runs 1] [--tls] [--skip offlineimap]
//
// The Dovecot harness (test/harness, TypeScript) is compiled into bench/out/harness first.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mixedMessage } from './gen.js';
import { nodeFlags } from './node-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const arg = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const N = Number(arg('messages', 10_000));
const RUNS = Number(arg('runs', 1));
const TLS = argv.includes('--tls');
const SKIP = new Set(String(arg('skip', '')).split(',').filter(Boolean));

const hdir = join(root, 'bench', 'out', 'harness');
execFileSync(
  join(root, 'node_modules', '.bin', 'tsc'),
  ['--outDir', hdir, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--rootDir', join(root, 'test', 'harness'), join(root, 'test', 'harness', 'dovecot.ts')], // prettier-ignore
  { stdio: 'inherit' },
);
writeFileSync(join(hdir, 'package.json'), '{"type":"module"}\n');
const { startDovecot, uniqueUser } = await import(join(hdir, 'dovecot.js'));

const work = mkdtempSync(join(tmpdir(), 'mi-export-bench-'));
const dc = await startDovecot();
const u = uniqueUser('bench');
await dc.addUser(u.user, u.password);
let bytes = 0;
for (let off = 0; off < N; off += 1000) {
  const batch = [];
  for (let i = off; i < Math.min(N, off + 1000); i++) {
    const m = mixedMessage(i, 5_000 + ((i * 7919) % 95_000));
    bytes += m.length;
    batch.push(m);
  }
  await dc.saveMany(u.user, 'INBOX', batch);
}
const port = dc.ports.imap;

function timed(label, cmd, args, env = {}) {
  const res = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 }); // prettier-ignore
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(res.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  if (res.status !== 0) {
    console.error(`${label} exited ${res.status}\n${res.stdout.slice(-2000)}\n${res.stderr.slice(-3000)}`);
  }
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  return { seconds, rssMB: rss ? Number(rss[1]) / 1024 : NaN, status: res.status };
}

function countFiles(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\/(cur|new)$/.test(e.parentPath)) n++;
  }
  return n;
}

const tools = {
  mailintake(out) {
    const cfg = join(out, 'mailintake.yaml');
    writeFileSync(
      cfg,
      [
        'log: { level: warn }',
        'routes: [{ name: all, action: drop }]',
        'sources:',
        '  bench:',
        `    imap: { host: 127.0.0.1, port: ${port}, secure: false, starttls: ${TLS}, user: "${u.user}", password: "${u.password}", tls: { caFile: "${dc.caFile}", servername: localhost } }`, // prettier-ignore
        '',
      ].join('\n'),
    );
    const dest = join(out, 'mail');
    const r = timed('mailintake', process.execPath, [...nodeFlags(), join(root, 'dist', 'cli', 'main.js'), 'export', '-c', cfg, '--source', 'bench', '--out', dest]); // prettier-ignore
    return { ...r, files: countFiles(dest) };
  },
  mbsync(out) {
    const cfg = join(out, 'mbsyncrc');
    const dest = join(out, 'mail');
    mkdirSync(dest);
    writeFileSync(
      cfg,
      [
        'IMAPAccount bench',
        'Host 127.0.0.1',
        `Port ${port}`,
        `User ${u.user}`,
        `Pass ${u.password}`,
        TLS ? 'SSLType STARTTLS' : 'SSLType None',
        TLS ? `CertificateFile ${dc.caFile}` : null,
        'AuthMechs PLAIN LOGIN',
        '',
        'IMAPStore remote',
        'Account bench',
        '',
        'MaildirStore local',
        `Path ${dest}/`,
        `Inbox ${dest}/INBOX`,
        'SubFolders Verbatim',
        '',
        'Channel bench',
        'Far :remote:',
        'Near :local:',
        'Patterns *',
        'Create Near',
        'Sync Pull',
        'SyncState *',
        '',
      ]
        .filter((l) => l !== null)
        .join('\n'),
    );
    const r = timed('mbsync', 'mbsync', ['-q', '-c', cfg, 'bench']);
    return { ...r, files: countFiles(dest) };
  },
  offlineimap(out) {
    const cfg = join(out, 'offlineimaprc');
    const dest = join(out, 'mail');
    mkdirSync(dest);
    writeFileSync(
      cfg,
      [
        '[general]',
        'accounts = bench',
        `metadata = ${join(out, 'meta')}`,
        '',
        '[Account bench]',
        'localrepository = local',
        'remoterepository = remote',
        '',
        '[Repository local]',
        'type = Maildir',
        `localfolders = ${dest}`,
        '',
        '[Repository remote]',
        'type = IMAP',
        'remotehost = 127.0.0.1',
        `remoteport = ${port}`,
        `remoteuser = ${u.user}`,
        `remotepass = ${u.password}`,
        'ssl = no',
        TLS ? 'starttls = yes' : 'starttls = no',
        TLS ? `sslcacertfile = ${dc.caFile}` : null,
        'readonly = True',
        '',
      ]
        .filter((l) => l !== null)
        .join('\n'),
    );
    const r = timed('offlineimap', 'offlineimap', ['-c', cfg, '-o', '-u', 'quiet']);
    return { ...r, files: countFiles(dest) };
  },
};

// Warm-up (untimed): the first reader after saveMany pays for Dovecot building its index and cache.
{
  const out = mkdtempSync(join(work, 'warmup-'));
  tools.mbsync(out);
  rmSync(out, { recursive: true, force: true });
}
// Runs interleave the tools and rotate their order, so background load hits all of them alike.
const names = Object.keys(tools).filter((n) => !SKIP.has(n));
const all = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(r + k) % names.length];
    const out = mkdtempSync(join(work, `${name}-`));
    all[name].push(tools[name](out));
    rmSync(out, { recursive: true, force: true });
  }
}
const results = {};
for (const name of names) {
  const runs = [...all[name]].sort((a, b) => a.seconds - b.seconds);
  results[name] = { ...runs[Math.floor(runs.length / 2)], runs: all[name].map((x) => x.seconds) };
}
await dc.close();
rmSync(work, { recursive: true, force: true });

const base = results.mbsync?.seconds;
console.log(`export bench: ${N} messages, ${(bytes / 1e6).toFixed(0)} MB, IMAP over loopback ${TLS ? 'STARTTLS' : 'plaintext'}, median of ${RUNS} interleaved run(s) after an untimed warm-up, node ${process.version}`); // prettier-ignore
// Median (the headline) and best of the runs: on the shared machine one slow run is common.
const best = (r) => Math.min(...r.runs);
const bestBase = results.mbsync ? best(results.mbsync) : undefined;
console.log('| tool | files | wall s (median) | messages/s | peak RSS MB | wall vs mbsync | best s | best vs best |'); // prettier-ignore
console.log('|---|---|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(results)) {
  const ratio = base ? (r.seconds / base).toFixed(2) : '-';
  const bestRatio = bestBase ? (best(r) / bestBase).toFixed(2) : '-';
  console.log(`| ${name} | ${r.files} | ${r.seconds.toFixed(2)} | ${(N / r.seconds).toFixed(0)} | ${r.rssMB.toFixed(0)} | ${ratio}x | ${best(r).toFixed(2)} | ${bestRatio}x |`); // prettier-ignore
}
console.log(JSON.stringify({ messages: N, bytes, tls: TLS, load: readFileSync('/proc/loadavg', 'utf8').trim(), results })); // prettier-ignore
