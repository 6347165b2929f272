#!/usr/bin/env node
// Hostile-MIME throughput and memory: N generated hostile messages (deep/wide/broken multiparts,
// huge and folded headers, NUL and 8-bit bytes, bogus encodings/charsets, truncation) through the
// built parser (parseMessage with the default limits), classify and stripReply, from dist/.
//
//   npm run build && node bench/hostile-parse.js [count=100000] [seed=1]
//   MAILINTAKE_DIST=/path/to/dist node bench/hostile-parse.js     (a private build)
//
// Prints count, outcomes (parsed / refused with PermanentError / crashed), time, msg/s and the
// peak RSS (sampled every 10 ms and at every message). Exits 1 if anything crashed or hung.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.env.MAILINTAKE_DIST ?? new URL('../dist', import.meta.url).pathname);
const load = (p) => import(pathToFileURL(join(dist, p)).href);
const { parseMessage, DEFAULT_PARSE_LIMITS } = await load('core/parse.js');
const { classify } = await load('core/classify/index.js');
const { stripReply } = await load('core/reply/strip.js');
const { PermanentError } = await load('core/errors.js');

const COUNT = Number(process.argv[2] ?? 100_000);
let seed = Number(process.argv[3] ?? 1) >>> 0;
const rnd = () => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rnd() * n);
const pick = (a) => a[int(a.length)];
const bytes = (n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(256));
  return s;
};

const NAMES = [
  'Subject',
  'From',
  'To',
  'Cc',
  'Message-ID',
  'References',
  'In-Reply-To',
  'Date',
  'Auto-Submitted',
  'X-Loop',
  'Received',
  'Content-Type',
  'X-\u00e9\u0000',
  '',
];
const VALUES = [
  () => bytes(int(200)),
  () => 'a'.repeat(int(50_000)),
  () => '=?utf-8?B?////?=',
  () => '=?x-bogus?Q?=ZZ?=',
  () => '"unterminated <a@b',
  () => '<'.repeat(int(3000)) + '@',
  () => '('.repeat(int(3000)),
  () => 'undisclosed-recipients:;',
  () => `<id${int(1e9)}@x>`,
  () => '\u0000'.repeat(int(100)),
];
const CT = [
  'text/plain',
  'text/plain; charset=x-nonsense',
  'text/html; charset=iso-2022-jp',
  'message/rfc822',
  'message/delivery-status',
  'application/octet-stream; name="../../etc/passwd"',
  '',
  ';;;',
];
const CTE = ['7bit', '8bit', 'base64', 'quoted-printable', 'binary', 'bogus', ''];
const BODIES = [
  () => bytes(int(3000)),
  () => '!!!not base64!!!',
  () => 'AAAA'.repeat(int(2000)),
  () => '=\r\n=ZZ=',
  () => '\u0000'.repeat(int(500)),
  () => '<div>'.repeat(int(5000)),
  () => '> quoted\r\nOn Mon, X wrote:\r\n> y\r\n-- \r\nsig',
];

const headers = (n) =>
  Array.from({ length: n }, () => `${pick(NAMES)}: ${pick(VALUES)()}${pick(['\r\n', '\n', '\r\n '])}`).join(
    '',
  );
function part(depth) {
  if (depth <= 0 || rnd() < 0.6)
    return `Content-Type: ${pick(CT)}\r\nContent-Transfer-Encoding: ${pick(CTE)}\r\n${headers(int(3))}\r\n${pick(BODIES)()}`;
  const b = pick(['b', '', '--', 'x'.repeat(100), `q${depth}`]);
  const kids = Array.from({ length: int(6) }, () => part(depth - 1));
  const mode = int(4);
  const open = mode === 3 ? '--other' : `--${b}`;
  const close = mode === 1 ? '' : mode === 2 ? `--${b}x--` : `--${b}--`;
  return `Content-Type: multipart/mixed; boundary="${b}"\r\n\r\n${kids.map((k) => `${open}\r\n${k}\r\n`).join('')}${close}\r\n`;
}
function special(i) {
  switch (i % 7) {
    case 0: {
      let s = 'Content-Type: text/plain\r\n\r\nx\r\n';
      for (let d = 0; d < 300 + int(3000); d++)
        s = `Content-Type: multipart/mixed; boundary="d${d}"\r\n\r\n--d${d}\r\n${s}\r\n--d${d}--\r\n`;
      return s;
    }
    case 1:
      return `Content-Type: multipart/mixed; boundary=b\r\n\r\n${'--b\r\n\r\nx\r\n'.repeat(500 + int(3000))}--b--\r\n`;
    case 2:
      return `Subject: ${'x'.repeat(int(2 << 20))}\r\n\r\nbody`;
    case 3:
      return `${'X-A: b\r\n'.repeat(int(60_000))}\r\nbody`;
    case 4:
      return '\u0000'.repeat(int(1 << 20));
    case 5:
      return `Subject: a\r\n${' x\r\n'.repeat(int(100_000))}\r\nb`;
    default:
      return `Content-Transfer-Encoding: base64\r\n\r\n${'!@#$'.repeat(int(500_000))}`;
  }
}
function message(i) {
  // 1 in 200 is an extreme shape; the rest are random trees
  let s =
    i % 200 === 199 ? special(Math.floor(i / 200)) : `${headers(int(30))}MIME-Version: 1.0\r\n${part(5)}`;
  if (rnd() < 0.2) s = s.replace(/\r\n/g, '\n');
  if (rnd() < 0.2) s = s.slice(0, int(s.length + 1));
  return Buffer.from(s, 'latin1');
}

const dir = mkdtempSync(join(tmpdir(), 'mi-hostile-'));
const limits = { ...DEFAULT_PARSE_LIMITS, attachmentDir: dir };
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
const tally = { parsed: 0, refused: 0, crashed: 0, hung: 0 };
const crashes = [];
let bytesIn = 0;
let slowest = { ms: 0, i: -1 };
const t0 = performance.now();
for (let i = 0; i < COUNT; i++) {
  const raw = message(i);
  bytesIn += raw.length;
  const m0 = performance.now();
  try {
    classify(raw);
    let timer;
    const hang = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error('HANG')), 30_000)));
    const p = await Promise.race([parseMessage(raw, limits, `k${i % 64}`), hang]).finally(() =>
      clearTimeout(timer),
    );
    stripReply({ text: p.text, html: p.html });
    tally.parsed++;
  } catch (err) {
    if (err instanceof PermanentError) tally.refused++;
    else if (err instanceof Error && err.message === 'HANG') tally.hung++;
    else {
      tally.crashed++;
      if (crashes.length < 5) crashes.push({ i, err: String(err).slice(0, 200) });
    }
  }
  const ms = performance.now() - m0;
  if (ms > slowest.ms) slowest = { ms, i };
  peak = Math.max(peak, process.memoryUsage().rss);
  if (process.env.HP_TRACE || (i > 0 && i % 10_000 === 0))
    process.stderr.write(
      `  ${i} ${Math.round(ms)}ms … rss ${Math.round(process.memoryUsage().rss / 1048576)} MB\n`,
    );
}
const secs = (performance.now() - t0) / 1000;
clearInterval(sampler);
rmSync(dir, { recursive: true, force: true });
const report = {
  count: COUNT,
  ...tally,
  inputMB: Math.round(bytesIn / 1048576),
  seconds: Number(secs.toFixed(1)),
  msgPerSec: Math.round(COUNT / secs),
  slowestMs: Math.round(slowest.ms),
  peakRssMB: Math.round(peak / 1048576),
  node: process.version,
  crashes,
};
console.log(JSON.stringify(report, null, 2));
process.exit(tally.crashed + tally.hung > 0 ? 1 : 0);
