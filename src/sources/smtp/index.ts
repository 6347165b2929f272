/**
 * The SMTP push listener (`mailintake run --push`). Guarantees:
 * - 250 only after intake resolved, i.e. the raw message (with our Received: header in front) is
 *   fsynced in the spool and its ledger row committed; any internal failure answers 451 so the
 *   sender retries (a retried copy is deduplicated by content key).
 * - Mail is accepted only for configured domains/recipient patterns (never a relay), up to maxSize
 *   (SIZE advertised, sink capped, 552 beyond).
 * - close(): new connections and new transactions get 421, transactions in flight finish within
 *   the grace period, then the server closes.
 * Sources never parse: onData only streams bytes into intake.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { PushListener, StartPushListener } from '../../service/push-contract.js';
import type { SourceHealth } from '../types.js';
import { createAuthVerifier } from './auth.js';
import { BareLfCheck } from './bare-lf.js';
import { smtpServerLogger } from './logger.js';
import { parseListen, serverOptions } from './options.js';
import { IpLimiter } from './rate-limit.js';
import { receivedHeader } from './received.js';
import { createRecipientPolicy } from './recipients.js';
import { dataFailureReply, smtpError } from './replies.js';
import { Drain } from './drain.js';
import { installFastDataScan } from './data-scan.js';

const SOURCE = 'push';

function queueIdOf(session: SMTPServerSession): string {
  const n = (session as SMTPServerSession & { transaction?: unknown }).transaction;
  return `${session.id}.${typeof n === 'number' ? n : 1}`;
}

function protocolOf(session: SMTPServerSession): string {
  return `${session.openingCommand === 'HELO' ? 'SMTP' : 'ESMTP'}${session.secure ? 'S' : ''}${session.user ? 'A' : ''}`;
}

export const startPushListener: StartPushListener = async (opts) => {
  const { config: cfg, intake } = opts;
  const log = opts.log.child({ mod: 'smtp' });
  if (installFastDataScan() === 'original') {
    log.warn(
      { action: 'data-scan' },
      "smtp-server's end-of-data scan is not the version data-scan.ts replaces; using it unchanged (slower)",
    );
  }
  const accepts = createRecipientPolicy(cfg.domains, [...cfg.recipients, ...opts.routeRecipients]);
  const verify = cfg.auth ? createAuthVerifier(cfg.auth.users) : null;
  const limiter = new IpLimiter({
    maxConcurrent: cfg.maxClientsPerIp,
    perWindow: cfg.rateLimit ? { max: cfg.rateLimit.perIp, windowMs: cfg.rateLimit.window } : undefined,
  });
  const counted = new Map<string, string>(); // session id → ip counted by the limiter
  const drain = new Drain(); // sessions with an open transaction (MAIL FROM accepted, no reply yet)
  let draining = false;
  let listening = false;
  let lastSuccessAt: number | null = null;
  let lastError: string | null = null;
  let lastErrorAt: number | null = null;

  const server = new SMTPServer({
    ...serverOptions(cfg, opts.baseDir),
    logger: smtpServerLogger(log),

    onConnect(session, cb) {
      if (draining) return cb(smtpError(421, '4.3.2 Service shutting down, try again later'));
      const verdict = limiter.connect(session.remoteAddress);
      if (verdict !== 'ok') {
        log.warn(
          { action: 'connection-refused', ip: session.remoteAddress, why: verdict },
          'connection refused',
        );
        return cb(smtpError(421, '4.7.0 Too many connections from your address, try again later'));
      }
      counted.set(session.id, session.remoteAddress);
      cb();
    },

    onAuth(auth, session, cb) {
      const user = auth.username ?? '';
      if (
        verify &&
        (auth.method === 'PLAIN' || auth.method === 'LOGIN') &&
        verify(user, auth.password ?? '')
      ) {
        log.info({ action: 'auth-ok', ip: session.remoteAddress, user }, 'smtp auth ok');
        return cb(null, { user });
      }
      log.warn(
        { action: 'auth-failed', ip: session.remoteAddress, user, method: auth.method },
        'smtp auth failed',
      );
      cb(smtpError(535, '5.7.8 Authentication credentials invalid'));
    },

    onMailFrom(_address, session, cb) {
      if (draining) return cb(smtpError(421, '4.3.2 Service shutting down, try again later'));
      if (!limiter.message(session.remoteAddress)) {
        log.warn({ action: 'rate-limited', ip: session.remoteAddress }, 'message rate limit');
        return cb(smtpError(450, '4.7.0 Too many messages from your address, try again later'));
      }
      drain.add(session.id);
      cb();
    },

    onRcptTo(address, session, cb) {
      const v = accepts(address.address);
      if (v.ok) return cb();
      log.info(
        { action: 'rcpt-refused', ip: session.remoteAddress, rcpt: address.address, code: v.responseCode },
        'recipient refused',
      );
      cb(smtpError(v.responseCode, v.message));
    },

    onData(stream: SMTPServerDataStream, session, cb) {
      drain.add(session.id);
      const queueId = queueIdOf(session);
      const rcptTo = session.envelope.rcptTo.map((r) => r.address);
      const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
      // Intake's reader gets the stream's error (client gone); this listener only keeps a late
      // second 'error' event from becoming an uncaught exception.
      stream.on('error', () => undefined);
      // smtp-server answers 354 once this returns: the trace header and the spool file are set up
      // right after (a microtask, before any of the client's data can be read), while the client
      // starts sending, instead of delaying its 354 by some 40 µs.
      receive(stream, session, cb, { queueId, rcptTo, mailFrom });
    },

    onClose(session) {
      drain.delete(session.id);
      const ip = counted.get(session.id);
      if (ip !== undefined) {
        counted.delete(session.id);
        limiter.release(ip);
      }
    },
  });

  /**
   * Streams one message into intake and answers: 250 once it is durable, else the failure's code.
   * Everything runs in a microtask (after the 354); a throw there is answered like any failure.
   */
  function receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string) => void,
    { queueId, rcptTo, mailFrom }: { queueId: string; rcptTo: string[]; mailFrom: string },
  ): void {
    Promise.resolve()
      .then(() =>
        intake.receiveStream(stream, {
          // `accept` looks at nothing (the bytes are kept as sent), so only `reject` scans the lines.
          ...(cfg.bareLf === 'reject' ? { inspect: new BareLfCheck(true) } : {}),
          envelope: { mailFrom, rcptTo },
          source: { kind: 'smtp', source: SOURCE, positionKey: `smtp:${SOURCE}:${queueId}` },
          newPosition: true, // a queue id is a new random session id and a counter
          maxBytes: cfg.maxSize,
          prefix: receivedHeader({
            helo: session.hostNameAppearsAs || false,
            remoteAddress: session.remoteAddress,
            hostname: cfg.hostname,
            protocol: protocolOf(session),
            queueId,
            rcptTo,
            date: new Date(),
          }),
        }),
      )
      .then(
        (res) => {
          lastSuccessAt = Date.now();
          log.info(
            {
              action: 'accepted',
              queueId,
              id: res.row.id,
              size: res.row.size,
              rcpt: rcptTo.length,
              ip: session.remoteAddress,
            },
            'message accepted',
          );
          cb(null, `2.0.0 Ok: queued as ${queueId}`);
        },
        (err: unknown) => {
          // Whatever stopped intake, read the client's data to its end so we can still answer.
          if (!stream.readableEnded && !stream.destroyed) stream.resume();
          const reply = dataFailureReply(err);
          if (reply.responseCode < 500) {
            lastError = err instanceof Error ? err.message : String(err);
            lastErrorAt = Date.now();
            log.error(
              { action: 'intake-failed', queueId, err, ip: session.remoteAddress },
              'message not accepted (451)',
            );
          } else {
            log.info(
              { action: 'refused', queueId, code: reply.responseCode, ip: session.remoteAddress },
              reply.message,
            );
          }
          cb(reply);
        },
      )
      .finally(() => drain.delete(session.id));
  }
  server.on('error', (err: Error) => log.debug({ action: 'smtp-error', err }, 'smtp connection error'));

  const want = parseListen(cfg.listen);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(want.port, want.host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  listening = true;
  const addr = server.server.address();
  const bound = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : want;

  let closing: Promise<void> | null = null;
  const listener: PushListener = {
    address: () => bound,
    health: (): SourceHealth => ({
      name: SOURCE,
      kind: 'smtp',
      connected: listening,
      lastSuccessAt,
      lastError,
      lastErrorAt,
      backoffUntil: null,
      backlog: null,
    }),
    close(graceMs: number) {
      closing ??= (async () => {
        draining = true;
        const deadline = Date.now() + Math.max(0, graceMs);
        await drain.idle(deadline);
        // Remaining sessions are idle between transactions: smtp-server answers them 421 and closes.
        server.options.closeTimeout = Math.max(1, Math.min(1000, deadline - Date.now()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
        listening = false;
        log.info({ action: 'closed', unfinished: drain.size }, 'push listener closed');
      })();
      return closing;
    },
  };
  return listener;
};
