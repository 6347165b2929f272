/**
 * A faster end-of-data scan for smtp-server's parser.
 *
 * smtp-server's `SMTPStream._feedDataStream` finds the end of a message (`CRLF . CRLF`) and the
 * dot-stuffed lines by testing every byte of the data in a JavaScript loop: about 90 µs of
 * event-loop time for a 50 KB message here, spent between the client's last byte and our 250. And
 * for each escape dot (a body line that starts with a dot) it writes what came before and waits a
 * turn of the event loop: a hostile 5 MB message of `..` lines cost 13 s of CPU.
 *
 * The replacement below is the same function with these changes: it looks for the candidates (a
 * dot after a line feed) with `Buffer.indexOf`, which runs natively at memory speed; it tests for
 * the terminator byte by byte instead of comparing a five-byte slice; and it drops the escape dots
 * of a chunk in one pass, copying the data between them into one Buffer, after which the next
 * chunk waits one turn of the event loop (that 5 MB message: 0.5 s of CPU). The data it emits, its
 * byte count, where it ends the data, the bytes it keeps for the next chunk and what it hands back
 * to command mode are the same as the original's for any input split into any chunks (the
 * differential test feeds both the same inputs); only the cutting of the data into writes differs.
 *
 * It replaces only the exact function it was written against: the source text of the installed
 * `_feedDataStream` must hash to `REPLACED_SOURCE_SHA256` (smtp-server 3.21.6). After an upgrade
 * that changed it, the original is kept and `installFastDataScan` says so; a unit test fails until
 * the replacement is checked against the new version.
 */
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { sha256 } from '../../core/message.js';

type Done = (err?: Error | null) => void;
type Feed = (this: SMTPStream, chunk: Buffer, done: Done) => void;

/** SHA-256 of `String(SMTPStream.prototype._feedDataStream)` in smtp-server 3.21.6 (ESM build). */
export const REPLACED_SOURCE_SHA256 = '9d8b903f9a3a63542d72e19a9e2f67009a3b1107a28d57e8e7369355454ff230';

/** smtp-server's own function, as loaded (kept for the differential test and for uninstall). */
export const originalFeedDataStream: Feed = SMTPStream.prototype._feedDataStream;

const DOT_CRLF = Buffer.from('.\r\n');
const LF_DOT = Buffer.from('\n.');

/**
 * smtp-server 3.21.6's `_feedDataStream` (MIT-0), with the byte loop `for (i = 2; i < len - 2;
 * i++) if (chunk[i] === 0x2e && chunk[i - 1] === 0x0a)` replaced by a search for `LF .` whose dot
 * lies in the same range, and escape dots dropped in the same call (after one at i, the original
 * went on with `chunk.subarray(i + 1)` on the next turn, from its index 2: the same candidates as
 * going on here, since the two bytes after i are dots). Comments of the original are kept where
 * they explain a check.
 */
export const fastFeedDataStream: Feed = function (this: SMTPStream, chunk: Buffer, done: Done): void {
  // only called in data mode, which always has a stream
  const dataStream = this._dataStream!;
  let i: number;
  let len: number;
  let handled: boolean;
  let buf: Buffer;
  if (this._lastBytes && this._lastBytes.length) {
    chunk = Buffer.concat([this._lastBytes, chunk], this._lastBytes.length + chunk.length);
    this._lastBytes = false;
  }
  len = chunk.length;
  // Check if the data does not start with the end terminator (tested on _atDataStart, not on the
  // bytes emitted so far: a first line ".." that arrived as its own chunk is content).
  if (this._atDataStart && len >= 3 && Buffer.compare(chunk.subarray(0, 3), DOT_CRLF) === 0) {
    this._endDataMode(false, chunk.subarray(3), done);
    return;
  }
  // check if the first symbol is a escape dot
  if (this._atDataStart && len >= 2 && chunk[0] === 0x2e && chunk[1] === 0x2e) {
    chunk = chunk.subarray(1);
    len--;
    // the escape dot is consumed payload, so the leading dot from now on is content
    this._atDataStart = false;
  }
  // Seek the end of the data: each dot at i (2 <= i < len - 2) that follows a line feed. An escape
  // dot is dropped and the scan goes on in this call (the original emitted the data before it and
  // waited a turn of the event loop): the data between escape dots is copied together into `out`.
  let out: Buffer | null = null;
  let outLen = 0;
  let from = 0; // start of the data not yet emitted or copied
  const copy = (to: number): void => {
    out ??= Buffer.allocUnsafe(len);
    outLen += chunk.copy(out, outLen, from, to);
  };
  const take = (to: number): Buffer => {
    if (!out) return chunk.subarray(from, to);
    copy(to);
    return out.subarray(0, outLen);
  };
  for (let lf = chunk.indexOf(LF_DOT, 1); lf !== -1 && lf + 1 < len - 2; lf = chunk.indexOf(LF_DOT, lf + 1)) {
    i = lf + 1;
    // if the dot matches end terminator (CR LF . CR LF; the LF and the dot are known)
    if (chunk[i - 2] === 0x0d && chunk[i + 1] === 0x0d && chunk[i + 2] === 0x0a) {
      // everything before the terminator is message content, including the CRLF that ends the
      // last line
      this._countDataBytes(i - from);
      this._endDataMode(take(i), chunk.subarray(i + 3), done);
      return;
    }
    // check if the dot is an escape char and remove it
    if (chunk[i + 1] === 0x2e) {
      this._countDataBytes(i - from);
      copy(i);
      from = i + 1; // what follows starts with the escaped dot
    }
  }
  const last = len - from;
  // keep the last bytes
  this._lastBytes = chunk.subarray(last < 4 ? from : len - 4);
  // emit what was copied and what is left beyond the bytes kept
  const keep = this._lastBytes.length;
  if (last > keep) this._countDataBytes(last - keep);
  if (last > keep || outLen > 0) {
    buf = take(len - keep);
    // A chunk that had escape dots cost more than a plain one (about 4 ms for 64 KB of dotted
    // lines): the next chunk waits a turn of the event loop, so other sessions are served between
    // the chunks of a long dotted message (the original waited a turn after every escape dot).
    const next = out ? (): void => void setImmediate(done) : done;
    // write to stream but stop if need to wait for drain
    if (dataStream.writable) {
      handled = dataStream.write(buf);
      if (!handled && !dataStream.destroyed) {
        // a stream that the application destroys never drains, it only closes
        const onDrain = (): void => {
          dataStream.removeListener('drain', onDrain);
          dataStream.removeListener('close', onDrain);
          done();
        };
        dataStream.once('drain', onDrain);
        dataStream.once('close', onDrain);
      } else {
        return next();
      }
    } else {
      return next();
    }
  } else {
    // nothing to emit, continue with the input stream
    return done();
  }
};

export function sourceHash(fn: Feed): string {
  return sha256(String(fn));
}

export type DataScan = 'fast' | 'original';

/**
 * Puts the fast scan in place of smtp-server's when the installed function is the one it was
 * written against; idempotent. Returns which scan SMTP sessions use from now on.
 */
export function installFastDataScan(): DataScan {
  const proto = SMTPStream.prototype;
  if (proto._feedDataStream === fastFeedDataStream) return 'fast';
  if (sourceHash(proto._feedDataStream) !== REPLACED_SOURCE_SHA256) return 'original';
  proto._feedDataStream = fastFeedDataStream;
  return 'fast';
}
