// smtp-server sink for bench/smtp-throughput.js: the library mailintake's listener is built on,
// with nothing else: every message is read into memory and answered 250, like bench/smtp-sink.py
// (aiosmtpd). It shows what smtp-server itself costs per message on this machine.
//
// Usage: node bench/smtp-sink.mjs PORT   (prints "ready" once listening)
import { SMTPServer } from 'smtp-server';

const port = Number(process.argv[2]);
const kept = [];
const server = new SMTPServer({
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  size: 64 * 1024 * 1024,
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      kept.push(Buffer.concat(chunks));
      cb(null, 'OK queued in memory');
    });
  },
});
server.listen(port, '127.0.0.1', () => console.log('ready'));
