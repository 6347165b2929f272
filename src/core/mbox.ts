/**
 * mboxrd reading and writing on raw bytes. A "From " line starts each message; on write, lines
 * matching /^>*From / get one more '>'; on read, one '>' is removed from such lines, so a
 * write-then-read gives back the exact bytes.
 */
const FROM_RE = /^>*From /;

function lines(buf: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) {
      if (start < buf.length) out.push([start, buf.length]);
      return out;
    }
    out.push([start, nl + 1]);
    start = nl + 1;
  }
}

/** Splits an mboxrd file into raw messages (From_ line and the separating blank line removed). */
export function splitMbox(buf: Buffer): Buffer[] {
  const msgs: Buffer[] = [];
  let cur: Buffer[] | null = null;
  for (const [s, e] of lines(buf)) {
    const line = buf.subarray(s, e);
    const head = line.subarray(0, Math.min(line.length, 64)).toString('latin1');
    if (head.startsWith('From ')) {
      if (cur) msgs.push(finish(cur));
      cur = [];
      continue;
    }
    if (!cur) continue;
    cur.push(FROM_RE.test(head) && head.startsWith('>') ? line.subarray(1) : line);
  }
  if (cur) msgs.push(finish(cur));
  return msgs;
}

function finish(parts: Buffer[]): Buffer {
  // The writer adds exactly one "\n" after each message; drop it.
  const last = parts[parts.length - 1];
  if (last && last.length === 1 && last[0] === 10) parts.pop();
  return Buffer.concat(parts);
}

/** Formats one message as an mboxrd entry. */
export function mboxEntry(raw: Buffer, opts: { from?: string; date?: Date } = {}): Buffer {
  const date = (opts.date ?? new Date()).toUTCString().replace(/,/g, '');
  const parts: Buffer[] = [Buffer.from(`From ${opts.from ?? 'MAILER-DAEMON'} ${date}\n`, 'latin1')];
  for (const [s, e] of lines(raw)) {
    const line = raw.subarray(s, e);
    const head = line.subarray(0, Math.min(line.length, 64)).toString('latin1');
    parts.push(FROM_RE.test(head) ? Buffer.concat([Buffer.from('>'), line]) : line);
  }
  if (raw.length && raw[raw.length - 1] !== 10) parts.push(Buffer.from('\n'));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}
