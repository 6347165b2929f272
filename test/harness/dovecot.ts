// A private Dovecot 2.3 for integration tests, run as root next to (never instead of) the system one.
// Guarantees: own temp dir, unique instance name, loopback-only high ports, a real CA-signed TLS cert,
// byte-exact mail in/out (mail_save_crlf = yes: maildir files hold exactly the CRLF bytes POP3/IMAP
// serve), and the master process is killed on close() or when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, runOk } from './exec.js';
import { makeTestCa } from './tls-ca.js';
import { renderDovecotConf, type DovecotPorts } from './dovecot-config.js';
import { freePort, isListening, waitFor } from './wait.js';
import { listMaildir, writeMaildirFiles, type StoredMessage } from './maildir.js';

export type { DovecotPorts } from './dovecot-config.js';
export type { StoredMessage } from './maildir.js';

/** A mail account of the test instance. */
export interface DovecotUser {
  user: string;
  password: string;
}

/** Handle on a running private Dovecot. */
export interface Dovecot {
  host: '127.0.0.1';
  ports: DovecotPorts;
  /** PEM file of the CA that signed the server certificate (for `ca: readFileSync(caFile)`). */
  caFile: string;
  dir: string;
  /** Path of the generated dovecot.conf (for `doveadm -c`). */
  configFile: string;
  users: DovecotUser[];
  addUser(user: string, password: string): Promise<void>;
  /** Saves one message byte-exactly (doveadm save); creates the mailbox if needed; returns its UID. */
  save(user: string, mailbox: string, raw: Buffer, opts?: { flags?: string[] }): Promise<number>;
  /** Writes messages straight into the maildir (fast; 10k in seconds), then checks Dovecot indexed them. */
  saveMany(user: string, mailbox: string, raws: readonly Buffer[]): Promise<void>;
  /** Messages in UID order with flags, size and SHA-256 of the exact stored bytes. */
  list(user: string, mailbox: string): Promise<StoredMessage[]>;
  /** Raw bytes of one message by UID. */
  read(user: string, mailbox: string, uid: number): Promise<Buffer>;
  mailboxes(user: string): Promise<string[]>;
  uidValidity(user: string, mailbox: string): Promise<number>;
  /** Drops the mailbox's uidlist and indexes: same mail, new UIDs and a new UIDVALIDITY (returned). */
  resetUidValidity(user: string, mailbox: string): Promise<number>;
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Disconnects every session of `user` (doveadm kick). */
  kick(user: string): Promise<void>;
  /** Last lines of the Dovecot log (for assertion messages). */
  logTail(lines?: number): Promise<string>;
  /** Stops Dovecot and removes the temp dir. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Returns a user name/password pair that no other test uses. */
export function uniqueUser(prefix = 'u'): DovecotUser {
  const id = randomBytes(5).toString('hex');
  return { user: `${prefix}-${id}`, password: `pw-${id}` };
}

/** Starts a private Dovecot (imap, imaps, pop3, pop3s, lmtp on free loopback ports). */
export async function startDovecot(opts: { users?: DovecotUser[] } = {}): Promise<Dovecot> {
  installExitHook();
  const mail = userInfo({ encoding: 'utf8' }).uid === 0 ? await mailIds() : { uid: 8, gid: 8 };
  const dir = await mkdtemp(join(tmpdir(), 'mi-dovecot-'));
  await chmod(dir, 0o755);
  for (const sub of ['log', 'state', 'home', 'tls']) await mkdir(join(dir, sub), { recursive: true });
  const ca = await makeTestCa(join(dir, 'tls'));
  const usersFile = join(dir, 'users');
  await writeFile(usersFile, '', { mode: 0o644 });
  const ports: DovecotPorts = {
    imap: await freePort(),
    imaps: await freePort(),
    pop3: await freePort(),
    pop3s: await freePort(),
    lmtp: await freePort(),
  };
  const configFile = join(dir, 'dovecot.conf');
  const instanceName = `mi-${randomBytes(4).toString('hex')}`;
  await writeFile(configFile, renderDovecotConf({ dir, instanceName, ports, usersFile, ...ca, mailUid: mail.uid, mailGid: mail.gid })); // prettier-ignore
  const users: DovecotUser[] = [];
  let child: ChildProcess | undefined;
  const doveadm = (args: string[], input?: Buffer) => runOk('doveadm', ['-c', configFile, ...args], input);

  const logTail = async (lines = 30): Promise<string> => {
    const text = await readFile(join(dir, 'log', 'dovecot.log'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  };

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn('dovecot', ['-F', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let exited = false;
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    proc.once('exit', () => {
      exited = true;
      live.delete(proc);
      if (child === proc) child = undefined;
    });
    child = proc;
    live.add(proc);
    const all = Object.values(ports);
    await waitFor(
      async () => {
        if (exited) throw new Error(`dovecot exited: ${stderr.trim()} ${await logTail(10)}`);
        return (await Promise.all(all.map((p) => isListening(p)))).every(Boolean);
      },
      { timeoutMs: 20_000, what: `dovecot listening on ${all.join(',')}` },
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await gone;
    await waitFor(async () => !(await isListening(ports.pop3)), { what: 'dovecot ports closed' });
  };

  const mailboxPath = async (user: string, mailbox: string): Promise<string> =>
    (await doveadm(['mailbox', 'path', '-u', user, mailbox])).stdout.toString('utf8').trim();

  const ensureMailbox = async (user: string, mailbox: string): Promise<void> => {
    if (mailbox.toUpperCase() === 'INBOX') return;
    const res = await run('doveadm', ['-c', configFile, 'mailbox', 'create', '-u', user, mailbox]);
    if (res.code !== 0 && !/exists/i.test(res.stderr)) throw new Error(`mailbox create: ${res.stderr}`);
  };

  const maxUid = async (user: string, mailbox: string): Promise<number> => {
    const out = (await doveadm(['search', '-u', user, 'mailbox', mailbox, 'all'])).stdout.toString('utf8');
    return out
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[1] ?? 0))
      .reduce((a, b) => Math.max(a, b), 0);
  };

  const uidValidity = async (user: string, mailbox: string): Promise<number> => {
    const res = await doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'uidvalidity', mailbox]);
    return Number(/uidvalidity=(\d+)/.exec(res.stdout.toString('utf8'))?.[1] ?? NaN);
  };

  const messageCount = async (user: string, mailbox: string): Promise<number> => {
    const res = await doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'messages', mailbox]);
    return Number(/messages=(\d+)/.exec(res.stdout.toString('utf8'))?.[1] ?? NaN);
  };

  const uidNext = async (user: string, mailbox: string): Promise<number> => {
    const res = await doveadm(['-f', 'flow', 'mailbox', 'status', '-u', user, 'uidnext', mailbox]);
    return Number(/uidnext=(\d+)/.exec(res.stdout.toString('utf8'))?.[1] ?? NaN);
  };

  const list = async (user: string, mailbox: string): Promise<StoredMessage[]> => {
    await ensureMailbox(user, mailbox);
    const meta = await doveadm([
      '-f',
      'tab',
      'fetch',
      '-u',
      user,
      'uid flags guid',
      'mailbox',
      mailbox,
      'all',
    ]);
    return listMaildir(await mailboxPath(user, mailbox), meta.stdout.toString('utf8'));
  };

  const handle: Dovecot = {
    host: '127.0.0.1',
    ports,
    caFile: ca.caFile,
    dir,
    configFile,
    users,
    async addUser(user, password) {
      if (/[:\n]/.test(user) || /[:\n]/.test(password)) throw new Error('user/password must not contain ":"');
      const home = join(dir, 'home', user);
      await mkdir(home, { recursive: true });
      await chown(home, mail.uid, mail.gid);
      await appendFile(usersFile, `${user}:{PLAIN}${password}:${mail.uid}:${mail.gid}::${home}::\n`);
      users.push({ user, password });
      // The auth process re-stats the passwd-file at most once a second: poll until the user resolves.
      await waitFor(async () => (await run('doveadm', ['-c', configFile, 'user', user])).code === 0, {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: `dovecot user ${user}`,
      });
    },
    async save(user, mailbox, raw, saveOpts = {}) {
      await ensureMailbox(user, mailbox);
      await doveadm(['save', '-u', user, '-m', mailbox], raw);
      const uid = await maxUid(user, mailbox);
      if (saveOpts.flags && saveOpts.flags.length > 0) {
        await doveadm([
          'flags',
          'add',
          '-u',
          user,
          saveOpts.flags.join(' '),
          'mailbox',
          mailbox,
          'uid',
          String(uid),
        ]);
      }
      return uid;
    },
    async saveMany(user, mailbox, raws) {
      await ensureMailbox(user, mailbox);
      // Count assigned UIDs, not messages: a client may move or expunge mail at the same time.
      const before = await uidNext(user, mailbox);
      await writeMaildirFiles(await mailboxPath(user, mailbox), raws, mail);
      await messageCount(user, mailbox); // makes Dovecot sync the maildir and assign UIDs
      const after = await uidNext(user, mailbox);
      if (after !== before + raws.length) {
        throw new Error(`saveMany: Dovecot indexed ${after - before} of ${raws.length} messages`);
      }
    },
    list,
    async read(user, mailbox, uid) {
      const res = await doveadm(['-f', 'tab', 'fetch', '-u', user, 'uid flags guid', 'mailbox', mailbox, 'uid', String(uid)]); // prettier-ignore
      const [msg] = await listMaildir(await mailboxPath(user, mailbox), res.stdout.toString('utf8'), true);
      if (!msg?.raw) throw new Error(`no message uid ${uid} in ${user}/${mailbox}`);
      return msg.raw;
    },
    async mailboxes(user) {
      const res = await doveadm(['mailbox', 'list', '-u', user]);
      return res.stdout.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0); // prettier-ignore
    },
    uidValidity,
    async resetUidValidity(user, mailbox) {
      const old = await uidValidity(user, mailbox);
      const path = await mailboxPath(user, mailbox);
      await doveadm(['kick', user]).catch(() => undefined);
      for (let attempt = 0; ; attempt++) {
        for (const f of [
          'dovecot-uidlist',
          'dovecot.index',
          'dovecot.index.log',
          'dovecot.index.log.2',
          'dovecot.index.cache',
        ]) {
          await rm(join(path, f), { force: true });
        }
        const now = await uidValidity(user, mailbox);
        if (now !== old) return now;
        if (attempt > 30) throw new Error('resetUidValidity: UIDVALIDITY did not change');
        // UIDVALIDITY derives from the clock: wait for the next second (a condition, not a fixed sleep).
        const sec = Math.floor(Date.now() / 1000);
        await waitFor(() => Math.floor(Date.now() / 1000) > sec, { timeoutMs: 2000, what: 'next second' });
      }
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
    async kick(user) {
      await doveadm(['kick', user]);
    },
    logTail,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await start();
    for (const u of opts.users ?? []) await handle.addUser(u.user, u.password);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  return handle;
}

async function mailIds(): Promise<{ uid: number; gid: number }> {
  const res = await runOk('id', ['mail']);
  const m = /uid=(\d+).*gid=(\d+)/.exec(res.stdout.toString('utf8'));
  return { uid: Number(m?.[1] ?? 8), gid: Number(m?.[2] ?? 8) };
}
