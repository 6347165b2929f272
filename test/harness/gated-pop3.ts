// A minimal POP3 server for reproducing split-read bugs: it answers every command with +OK, except
// RETR, whose reply goes out in two parts; the second only after release(). Tests use it to put a TCP
// read boundary exactly where they want (e.g. inside the CRLF.CRLF terminator).
import { createServer, type Server, type Socket } from 'node:net';

/** Handle on a {@link gatedServer}. */
export interface GatedPop3 {
  port: number;
  /** Bytes sent before the gate (greeting, +OK replies, first part): wait for the client to read them. */
  firstBytes(): number;
  /** True once a RETR arrived and the second part is held back. */
  waiting(): boolean;
  release(): void;
  close(): Promise<void>;
}

/** A POP3 server whose RETR reply is sent in two parts, the second only after release(). */
export async function gatedServer(first: Buffer, second: Buffer): Promise<GatedPop3> {
  let gate: (() => void) | undefined;
  let greetingAndAuth = 0;
  const socks = new Set<Socket>();
  const server: Server = createServer((s) => {
    socks.add(s);
    s.setNoDelay(true);
    s.on('error', () => undefined);
    const say = (t: string): void => {
      greetingAndAuth += t.length;
      s.write(t);
    };
    say('+OK ready\r\n');
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const cmd = buf.slice(0, i).split(' ')[0]?.toUpperCase();
        buf = buf.slice(i + 2);
        if (cmd !== 'RETR') say('+OK\r\n');
        else {
          s.write(first);
          gate = () => s.write(second);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    firstBytes: () => greetingAndAuth + first.length,
    waiting: () => gate !== undefined,
    release: () => gate?.(),
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
