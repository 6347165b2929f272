/** Spool.writeStream: bytes kept exactly, and a source stream that fails, or had already failed or
 * ended before the spool read it, settles the write instead of leaving it waiting. Spool files made
 * ahead of time: none left after close(), and a removed directory refuses one message, not all. */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SizeLimitError } from '../../../src/core/errors.js';
import { Spool } from '../../../src/store/spool.js';
import { tempDir } from '../../helpers/app.js';

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));

describe('Spool.writeStream', () => {
  it('writes the prefix and the bytes exactly; hashes only the source bytes; durable resolves', async () => {
    const spool = new Spool(tempDir());
    const body = Buffer.from([0x41, 0x0d, 0x0a, 0xff, 0x00, 0x0a]);
    const f = await spool.writeStream(Readable.from([body.subarray(0, 2), body.subarray(2)]), {
      maxBytes: 100,
      prefix: Buffer.from('P: 1\r\n'),
    });
    await f.durable;
    expect(readFileSync(f.path).equals(Buffer.concat([Buffer.from('P: 1\r\n'), body]))).toBe(true);
    expect(f.size).toBe(6 + body.length);
  });

  it('rejects a stream that fails midway and removes the partial file', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    const s = new PassThrough();
    const w = spool.writeStream(s, { maxBytes: 100 });
    s.write(Buffer.from('abc'));
    setTimeout(() => s.destroy(new Error('client gone')), 20);
    await expect(w).rejects.toThrow('client gone');
    await spool.close(); // removes the files made ahead of time
    expect(files(dir)).toEqual([]);
  });

  it('settles for a stream destroyed or ended before the spool reads it', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    const failed = new PassThrough();
    failed.on('error', () => undefined);
    failed.destroy(new Error('gone early'));
    await expect(spool.writeStream(failed, { maxBytes: 100 })).rejects.toThrow('gone early');
    const closed = new PassThrough();
    closed.destroy();
    await expect(spool.writeStream(closed, { maxBytes: 100 })).rejects.toThrow(/premature close/i);
    const empty = new PassThrough();
    empty.end();
    const f = await spool.writeStream(empty, { maxBytes: 100 });
    expect(readFileSync(f.path).length).toBe(0);
    await spool.close();
    expect(files(dir)).toEqual([f.path]);
  });

  it('refuses past maxBytes after reading everything, and an inspector may refuse at the end', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    const big = Readable.from([Buffer.alloc(60), Buffer.alloc(60)]);
    await expect(spool.writeStream(big, { maxBytes: 100 })).rejects.toBeInstanceOf(SizeLimitError);
    expect(big.readableEnded).toBe(true);
    const seen: number[] = [];
    const inspect = { update: (c: Buffer) => void seen.push(c.length), finish: () => new Error('no') };
    await expect(
      spool.writeStream(Readable.from([Buffer.alloc(3)]), { maxBytes: 100, inspect }),
    ).rejects.toThrow('no');
    expect(seen).toEqual([3]);
    await spool.close();
    expect(files(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });
});

describe('Spool files made ahead of time', () => {
  it('holds exactly the written messages after close(), each byte for byte', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    const bodies = Array.from({ length: 40 }, (_, i) =>
      Buffer.from(`Subject: ${i}\r\n\r\n${'x'.repeat(i)}\r\n`),
    );
    const written = await Promise.all(
      bodies.map((b, i) =>
        i % 2 ? spool.write(b) : spool.writeStream(Readable.from([b]), { maxBytes: 1000 }),
      ),
    );
    await Promise.all(written.map((f) => f.durable));
    expect(files(dir).length).toBeGreaterThan(40); // the pool's empty files are there too
    await spool.close();
    expect(files(dir).sort()).toEqual(written.map((f) => f.path).sort());
    written.forEach((f, i) => expect(readFileSync(f.path).equals(bodies[i]!)).toBe(true));
    // A write after close() makes new files.
    const late = await spool.write(Buffer.from('late'));
    await late.durable;
    expect(readFileSync(late.path, 'latin1')).toBe('late');
  });

  it('refuses a message whose file was removed, then makes the directory again', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    const first = await spool.write(Buffer.from('one'));
    await first.durable;
    rmSync(dir, { recursive: true }); // the spool removed by hand under a running process
    await expect(spool.write(Buffer.from('two'))).rejects.toThrow(/was removed/);
    const third = await spool.writeStream(Readable.from([Buffer.from('three')]), { maxBytes: 100 });
    await third.durable;
    expect(readFileSync(third.path, 'latin1')).toBe('three');
    await spool.close();
    expect(files(dir)).toEqual([third.path]);
  });

  it('close() during a refill: every waiting writer is served or told, none is left waiting', async () => {
    const dir = tempDir();
    const spool = new Spool(dir);
    await (
      await spool.write(Buffer.from('first'))
    ).durable;
    const bodies = Array.from({ length: 40 }, (_, i) => Buffer.from(`m${i}`));
    const writes = bodies.map((b) => spool.write(b)); // more than the pool holds: some wait for a refill
    await spool.close();
    const settled = await Promise.allSettled(writes);
    const ok = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(ok.length + refused.length).toBe(40);
    expect(refused.length, 'writers waiting when the pool was closed').toBeGreaterThan(0);
    for (const e of refused) expect(e).toMatch(/was closed/);
    await Promise.all(ok.map((f) => f.durable));
    for (const f of ok) expect(bodies.some((b) => readFileSync(f.path).equals(b))).toBe(true);
    expect(files(dir).length).toBe(ok.length + 1); // no empty file left behind
  });

  it('a new day: new files in the new directory, the previous day keeps only its messages', async () => {
    const dir = tempDir();
    let today = new Date('2026-11-26T23:59:00Z');
    const spool = new Spool(dir, () => today);
    const before = await spool.write(Buffer.from('before midnight'));
    await before.durable;
    expect(files(join(dir, '2026-11-26')).length).toBeGreaterThan(1); // the pool's empty files
    today = new Date('2026-11-27T00:01:00Z');
    const after = await spool.write(Buffer.from('after midnight'));
    await after.durable;
    expect(after.path.startsWith(join(dir, '2026-11-27'))).toBe(true);
    expect(files(join(dir, '2026-11-26'))).toEqual([before.path]);
    await spool.close();
    expect(files(dir).sort()).toEqual([before.path, after.path].sort());
  });
});
