// smtp-server sink for bench/smtp-throughput.js: the library mailintake's listener is built on,
// with nothing else. Two modes:
//   node bench/smtp-sink.mjs PORT              every message read into memory and answered 250,
//                                              like bench/smtp-sink.py (aiosmtpd)
//   node bench/smtp-sink.mjs PORT --durable DIR  the least a durable 250 needs: the message written
//                                              to its own file in DIR, then in parallel the file's
//                                              fdatasync, the directory's fsync and an SQLite (WAL)
//                                              row with the WAL's fdatasync; 250 after all three.
//                                              No hashing, no dedup, no grouping, no pipeline.
// It shows what the library and plain durability cost per message on this machine, next to what
// mailintake adds. Prints "ready" once listening.
import Database from 'better-sqlite3';
import { fdatasync, fsync, mkdirSync, openSync, close, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2]);
const di = process.argv.indexOf('--durable');
const dir = di > 0 ? process.argv[di + 1] : null;
const syncData = promisify(fdatasync);
const syncDir = promisify(fsync);
const closeP = promisify(close);

let store = null;
if (dir) {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'ledger.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL)');
  store = {
    db,
    insert: db.prepare('INSERT INTO m (path, size) VALUES (?, ?)'),
    dirFd: openSync(dir, 'r'),
    wal: null,
  };
}

const kept = [];
let n = 0;
async function keepDurably(buf) {
  const path = join(dir, `${process.pid}-${n++}.eml`);
  const fd = openSync(path, 'wx', 0o640);
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
  store.insert.run(path, buf.length);
  store.wal ??= openSync(join(dir, 'ledger.sqlite-wal'), 'r');
  await Promise.all([syncData(fd).then(() => closeP(fd)), syncDir(store.dirFd), syncData(store.wal)]);
}

const server = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  size: 64 * 1024 * 1024,
  onData(stream, _session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const buf = Buffer.concat(chunks);
      if (!store) {
        kept.push(buf);
        return cb(null, 'OK queued in memory');
      }
      keepDurably(buf).then(
        () => cb(null, 'OK queued on disk'),
        (err) => cb(Object.assign(new Error(`4.3.0 ${err.message}`), { responseCode: 451 })),
      );
    });
  },
});
server.listen(port, '127.0.0.1', () => console.log('ready'));
