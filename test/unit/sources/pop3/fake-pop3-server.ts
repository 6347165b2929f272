// A scriptable fake POP3 server for unit tests: serves given raw messages (dot-stuffing them), and
// writes every response in the chunks chosen by `split` (one write per chunk, each on its own event
// loop turn) so the client sees arbitrary TCP read boundaries.
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';

/** A reply override: bytes to send, 'silent' to never answer, 'close' to drop the connection. */
export type FakeReply = Buffer | string | 'silent' | 'close';

export interface FakePop3Options {
  messages?: Buffer[];
  greeting?: string;
  user?: string;
  password?: string;
  accessToken?: string;
  capa?: string[];
  /** 'lf' sends bare LF line ends (and terminator ".\n"). */
  lineEnding?: 'crlf' | 'lf';
  split?: (response: Buffer) => Buffer[];
  /** Called per command; return a reply to override the default behaviour. */
  override?: (verb: string, args: string[]) => FakeReply | undefined;
}

export interface FakePop3 {
  port: number;
  /** Every command line received, across connections. */
  received: string[];
  deleted(): number[];
  close(): Promise<void>;
}

/** Dot-stuffs `raw` and appends the terminator (adding a line end if the message lacks one). */
export function stuff(raw: Buffer, eol = '\r\n'): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  while (start < raw.length) {
    const lf = raw.indexOf(0x0a, start);
    const end = lf < 0 ? raw.length : lf + 1;
    if (raw[start] === 0x2e) parts.push(Buffer.from('.'));
    parts.push(raw.subarray(start, end));
    start = end;
  }
  if (raw.length > 0 && raw[raw.length - 1] !== 0x0a) parts.push(Buffer.from(eol));
  parts.push(Buffer.from(`.${eol}`));
  return Buffer.concat(parts);
}

/** Starts the fake server on 127.0.0.1. */
export async function startFakePop3(opts: FakePop3Options = {}): Promise<FakePop3> {
  const messages = opts.messages ?? [];
  const eol = opts.lineEnding === 'lf' ? '\n' : '\r\n';
  const received: string[] = [];
  const deleted = new Set<number>();
  const sockets = new Set<Socket>();
  const greeting = opts.greeting ?? '+OK fake ready <1896.697170952@dbc.mtview.ca.us>';

  const server = createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    let out: Promise<void> = Promise.resolve();
    const send = (data: Buffer | string): void => {
      const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      const chunks = opts.split ? opts.split(buf) : [buf];
      out = out.then(async () => {
        for (const c of chunks) {
          if (sock.destroyed) return;
          await new Promise<void>((resolve) => sock.write(c, () => setImmediate(resolve)));
        }
      });
    };
    const ok = (text = ''): void => send(`+OK${text ? ` ${text}` : ''}${eol}`);
    const multi = (head: string, body: Buffer): void => send(Buffer.concat([Buffer.from(`+OK ${head}${eol}`), body])); // prettier-ignore
    const lines = (head: string, ls: string[]): void => multi(head, stuff(Buffer.from(ls.map((l) => l + eol).join('')), eol)); // prettier-ignore
    const msg = (arg: string | undefined): Buffer | undefined => messages[Number(arg) - 1];
    send(`${greeting}${eol}`);
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        received.push(line);
        const [verbRaw = '', ...args] = line.split(' ');
        const verb = verbRaw.toUpperCase();
        const o = opts.override?.(verb, args);
        if (o === 'silent') continue;
        if (o === 'close') {
          sock.destroy();
          return;
        }
        if (o !== undefined) {
          send(o);
          continue;
        }
        const m = msg(args[0]);
        switch (verb) {
          case 'CAPA':
            lines('capa', opts.capa ?? ['USER', 'UIDL', 'TOP', 'SASL XOAUTH2']);
            break;
          case 'USER':
            ok();
            break;
          case 'PASS':
            if (args.join(' ') === (opts.password ?? 'secret')) ok('logged in');
            else send(`-ERR [AUTH] Authentication failed.${eol}`);
            break;
          case 'APOP': {
            const ts = /<[^>]+>/.exec(greeting)?.[0] ?? '';
            const want = createHash('md5')
              .update(ts + (opts.password ?? 'secret'))
              .digest('hex');
            if (args[1] === want) ok('apop ok');
            else send(`-ERR [AUTH] bad digest${eol}`);
            break;
          }
          case 'AUTH': {
            const want = Buffer.from(`user=${opts.user ?? 'alice'}\x01auth=Bearer ${opts.accessToken ?? 'tok'}\x01\x01`).toString('base64'); // prettier-ignore
            if (args[1] === want) ok('xoauth2 ok');
            else send(`+ eyJzdGF0dXMiOiI0MDEifQ==${eol}`);
            break;
          }
          case '':
            send(`-ERR [AUTH] invalid token${eol}`);
            break;
          case 'STAT':
            ok(`${messages.length} ${messages.reduce((a, b) => a + b.length, 0)}`);
            break;
          case 'LIST':
            if (args[0]) ok(`${args[0]} ${m?.length ?? 0}`);
            else
              lines(
                `${messages.length} messages`,
                messages.map((x, k) => `${k + 1} ${x.length}`),
              );
            break;
          case 'UIDL':
            if (args[0]) ok(`${args[0]} uid-${args[0]}`);
            else
              lines(
                'uidl',
                messages.map((_, k) => `${k + 1} uid-${k + 1}`),
              );
            break;
          case 'RETR':
            if (m) multi(`${m.length} octets`, stuff(m, eol));
            else send(`-ERR no such message${eol}`);
            break;
          case 'TOP':
            if (m) multi('top', stuff(m.subarray(0, m.indexOf('\r\n\r\n') + 4), eol));
            else send(`-ERR no such message${eol}`);
            break;
          case 'DELE':
            deleted.add(Number(args[0]));
            ok('deleted');
            break;
          case 'QUIT':
            ok('bye');
            out = out.then(() => void sock.end());
            break;
          default:
            ok();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr !== null ? addr.port : 0,
    received,
    deleted: () => [...deleted].sort((a, b) => a - b),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Split helpers. */
export const splitAt =
  (k: number) =>
  (b: Buffer): Buffer[] =>
    k > 0 && k < b.length ? [b.subarray(0, k), b.subarray(k)] : [b];
export const bytewise = (b: Buffer): Buffer[] => Array.from(b, (x) => Buffer.from([x]));
