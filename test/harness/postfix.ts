// A private Postfix relay for tests (LIBRARIES.md §9): its own directory (mode 755) with etc/, spool/
// and log/, always addressed with `-c B/etc`, listening on a free 127.0.0.1 port and relaying
// everything to relayHost:relayPort with one-second retries. The system instance is never touched.
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, runOk } from './exec.js';
import { freePort, isListening, waitFor } from './wait.js';

/** One queued message as reported by `postqueue -j`. */
export interface PostfixQueueEntry {
  queue_name: string;
  queue_id: string;
  sender: string;
  message_size: number;
  recipients: Array<{ address: string; delay_reason?: string }>;
}

/** Handle on a running relay. */
export interface PostfixRelay {
  port: number;
  dir: string;
  queue(): Promise<PostfixQueueEntry[]>;
  flush(): Promise<void>;
  logTail(lines?: number): Promise<string>;
  stop(): Promise<void>;
}

const SERVICES = `pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
`;

/** Starts the relay; resolves once its SMTP port listens. */
export async function startPostfixRelay(opts: {
  relayHost: string;
  relayPort: number;
}): Promise<PostfixRelay> {
  const dir = await mkdtemp(join(tmpdir(), 'mi-postfix-'));
  await chmod(dir, 0o755);
  for (const sub of ['etc', 'spool', 'data', 'log']) await mkdir(join(dir, sub), { mode: 0o755 });
  const pf = await run('id', ['postfix']);
  const ids = /uid=(\d+).*gid=(\d+)/.exec(pf.stdout.toString('utf8'));
  await chown(join(dir, 'data'), Number(ids?.[1] ?? 0), Number(ids?.[2] ?? 0));
  const port = await freePort();
  if (await isListening(port)) throw new Error(`port ${port} already in use`);
  const id = randomBytes(3).toString('hex');
  const mainCf = `compatibility_level = 3.6
queue_directory = ${dir}/spool
data_directory = ${dir}/data
maillog_file = ${dir}/log/maillog
maillog_file_prefixes = ${dir}
syslog_name = mi-postfix-${id}
myhostname = relay-${id}.localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [${opts.relayHost}]:${opts.relayPort}
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
`;
  await writeFile(join(dir, 'etc', 'main.cf'), mainCf);
  await writeFile(join(dir, 'etc', 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd\n${SERVICES}`);
  const etc = join(dir, 'etc');
  const logTail = async (lines = 30): Promise<string> => {
    const text = await readFile(join(dir, 'log', 'maillog'), 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  };
  const started = await run('postfix', ['-c', etc, 'start']);
  if (started.code !== 0) {
    const why = `postfix start failed: ${started.stderr} ${await logTail()}`;
    await rm(dir, { recursive: true, force: true });
    throw new Error(why);
  }
  let running = true;
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await run('postfix', ['-c', etc, 'stop']);
    await waitFor(async () => !(await isListening(port)), { what: 'postfix stopped' });
    await rm(dir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    const pid = running ? readPid(dir) : 0;
    if (pid > 0) process.kill(pid, 'SIGTERM');
  });
  await waitFor(() => isListening(port), { timeoutMs: 20_000, what: `postfix on ${port}` });
  return {
    port,
    dir,
    async queue() {
      const res = await runOk('postqueue', ['-c', etc, '-j']);
      return res.stdout
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim().length > 0)
        .map((l) => JSON.parse(l) as PostfixQueueEntry);
    },
    async flush() {
      await runOk('postqueue', ['-c', etc, '-f']);
    },
    logTail,
    stop,
  };
}

function readPid(dir: string): number {
  try {
    return Number(readFileSync(join(dir, 'spool', 'pid', 'master.pid'), 'utf8').trim());
  } catch {
    return 0;
  }
}
