/**
 * The configuration schema. Every key is documented in config/example.yaml. Sizes accept "25MB",
 * durations "30s"; both accept plain numbers (bytes, milliseconds).
 */
import cron from 'node-cron';
import { z } from 'zod';
import { DEFAULT_SUBJECT_PATTERN, subjectRegex } from '../core/ticket-route.js';
import { parseDuration, parseSize } from './units.js';

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === null) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size; use bytes or e.g. "25MB"` });
    return z.NEVER;
  }
  return n;
});
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseDuration(v);
  if (n === null) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration; use ms or e.g. "30s", "5m"` });
    return z.NEVER;
  }
  return n;
});
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:2525"');
const cronExpr = z
  .string()
  .refine((s) => cron.validate(s), 'not a valid cron expression (node-cron syntax, e.g. "*/2 * * * *")');
const pattern = z.string().min(1);
const patterns = z.union([pattern, z.array(pattern).min(1)]);

const tls = z
  .object({
    /** Verify the server certificate (on by default; turn off only for a lab). */
    rejectUnauthorized: z.boolean().default(true),
    /** PEM file of a private CA to trust in addition to the system roots. */
    caFile: z.string().optional(),
    servername: z.string().optional(),
  })
  .strict()
  .default({ rejectUnauthorized: true });

const oauth2 = z
  .object({
    provider: z.enum(['google', 'microsoft', 'custom']),
    clientId: z.string().min(1),
    clientSecret: z.string().optional(),
    refreshToken: z.string().min(1),
    tokenUrl: z.string().url().optional(),
    tenant: z.string().default('common'),
    scope: z.string().optional(),
  })
  .strict();

const settle = z.union([
  z.object({ seen: z.literal(true), keyword: z.string().optional() }).strict(),
  z.object({ move: z.string().min(1) }).strict(),
  z.object({ delete: z.literal(true) }).strict(),
  z.object({ flag: z.string().min(1) }).strict(),
  z.object({ none: z.literal(true) }).strict(),
]);

/** Connection and login keys shared by IMAP and POP3 sources. */
const mailServer = (defaultPort: number) => ({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(defaultPort),
  /** true = implicit TLS; false = STARTTLS/STLS, required unless `starttls: false` (lab only). */
  secure: z.boolean().default(true),
  starttls: z.boolean().default(true),
  user: z.string().min(1),
  password: z.string().optional(),
  accessToken: z.string().optional(),
  oauth2: oauth2.optional(),
  tls,
});

const imap = z
  .object({
    ...mailServer(993),
    mailboxes: z.array(z.string().min(1)).min(1).default(['INBOX']),
    /** First run: process what is already there ("backlog") or only mail arriving from now on ("new"). */
    startFrom: z.enum(['backlog', 'new']).default('backlog'),
    maxMessageSize: size.prefault('50MB'),
    /** What to do with a message over maxMessageSize: quarantine it (dead, reason) or skip it. */
    oversize: z.enum(['dead', 'skip']).default('dead'),
    fetchBatch: z.number().int().min(1).max(5000).default(200),
    idleRestart: duration.prefault('5m'),
    socketTimeout: duration.prefault('5m'),
  })
  .strict();

const pop3 = z
  .object({
    ...mailServer(995),
    auth: z.enum(['auto', 'user', 'apop', 'xoauth2']).default('auto'),
    /** delete: DELE after the outcome is recorded; keep: leave on server; or { afterDays: N }. */
    leaveOnServer: z
      .union([z.literal(true), z.literal(false), z.object({ days: z.number().int().min(0) }).strict()])
      .default(false),
    maxMessageSize: size.prefault('50MB'),
    maxPerRun: z.number().int().min(1).optional(),
    maxBytesPerRun: size.optional(),
    commandTimeout: duration.prefault('60s'),
  })
  .strict();

const source = z
  .object({
    imap: imap.optional(),
    pop3: pop3.optional(),
    schedule: cronExpr.default('*/5 * * * *'),
    idle: z.boolean().default(true),
    onSuccess: settle.default({ seen: true }),
    onFailure: settle.default({ move: 'Failed' }),
    /** How long without a successful sync before /healthz calls this source unhealthy. */
    healthyWithin: duration.optional(),
  })
  .strict()
  .refine((s) => Number(!!s.imap) + Number(!!s.pop3) === 1, {
    message: 'a source needs exactly one of "imap" or "pop3"',
  });

const push = z
  .object({
    listen: hostPort.default('127.0.0.1:2525'),
    hostname: z.string().default('mailintake.localhost'),
    /** Domains we accept mail for; anything else gets 550 (never an open relay). */
    domains: z.array(z.string().min(1)).default([]),
    /** Recipient patterns accepted in addition to whole domains (same syntax as routes' `to`). */
    recipients: z.array(pattern).default([]),
    maxSize: size.prefault('25MB'),
    maxRecipients: z.number().int().min(1).default(100),
    maxClients: z.number().int().min(1).default(200),
    /** Concurrent connections per client IP (after PROXY protocol), so one peer cannot take every slot. */
    maxClientsPerIp: z.number().int().min(1).default(50),
    socketTimeout: duration.prefault('60s'),
    rateLimit: z
      .object({ perIp: z.number().int().min(1).default(300), window: duration.prefault('1m') })
      .strict()
      .optional(),
    tls: z.object({ certFile: z.string(), keyFile: z.string() }).strict().optional(),
    auth: z
      .object({
        required: z.boolean().default(true),
        users: z.array(z.object({ user: z.string().min(1), password: z.string().min(1) }).strict()).min(1),
        allowInsecure: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /** Trusted load balancer addresses that send a PROXY protocol header. */
    proxyProtocol: z.array(z.string()).optional(),
    /** Bare LF line endings in DATA: accept as sent (default) or reject with 550. */
    bareLf: z.enum(['accept', 'reject']).default('accept'),
    shutdownGrace: duration.prefault('30s'),
  })
  .strict();

const handler = z
  .object({
    webhook: z
      .object({
        url: z.string().url(),
        secret: z.string().optional(),
        timeout: duration.prefault('30s'),
        rawInlineMax: size.prefault('10MB'),
        headers: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    command: z
      .object({
        argv: z.array(z.string()).min(1),
        input: z.enum(['raw', 'json']).default('raw'),
        timeout: duration.prefault('60s'),
        cwd: z.string().optional(),
        env: z.record(z.string(), z.string()).optional(),
      })
      .strict()
      .optional(),
    maildir: z
      .object({ path: z.string().min(1), hardlink: z.boolean().default(true) })
      .strict()
      .optional(),
    file: z
      .object({ path: z.string().min(1), hardlink: z.boolean().default(true) })
      .strict()
      .optional(),
    module: z
      .object({ path: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((h) => Object.values(h).filter(Boolean).length === 1, {
    message: 'a handler needs exactly one kind: webhook, command, maildir, file or module',
  });

function compiles(p: string): boolean {
  try {
    subjectRegex(p);
    return true;
  } catch {
    return false;
  }
}

const routeSchema = z
  .object({
    name: z.string().min(1),
    to: patterns.optional(),
    from: patterns.optional(),
    subject: pattern.optional(),
    headers: z.record(z.string(), pattern).optional(),
    when: z
      .object({
        autoReply: z.boolean().optional(),
        bounce: z.boolean().optional(),
        loop: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** Ticket predicate: finds the ticket by signed address, thread map, subject token (in order). */
    ticket: z
      .object({
        rules: z
          .array(z.enum(['address', 'thread', 'subject']))
          .min(1)
          .default(['address', 'thread', 'subject']),
        secret: z.string().min(1).optional(),
        signatureLength: z.number().int().min(8).max(52).default(16),
        subject: pattern.default(DEFAULT_SUBJECT_PATTERN),
        required: z.boolean().default(true),
      })
      .strict()
      .refine((t) => !t.rules.includes('address') || t.secret !== undefined, {
        message: 'the address rule needs a secret (the HMAC key of signReplyAddress)',
        path: ['secret'],
      })
      .refine((t) => compiles(t.subject), {
        message: 'subject is not a valid regular expression',
        path: ['subject'],
      })
      .optional(),
    action: z.enum(['deliver', 'drop']).default('deliver'),
    handlers: z.array(z.string().min(1)).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    store: z
      .object({
        sqlite: z.string().default('./data/mailintake.db'),
        spool: z.string().default('./data/spool'),
        attachments: z.string().default('./data/attachments'),
      })
      .strict()
      .default({ sqlite: './data/mailintake.db', spool: './data/spool', attachments: './data/attachments' }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
    pipeline: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(32),
        maxAttempts: z.number().int().min(1).default(10),
        backoffBase: duration.prefault('10s'),
        backoffMax: duration.prefault('1h'),
        handlerTimeout: duration.prefault('120s'),
        batchDelay: duration.prefault('5ms'),
        inlineAttachmentMax: size.prefault('256KB'),
        maxHeadSize: size.prefault('1MB'),
        maxParts: z.number().int().min(1).default(1000),
        maxHtmlLength: z.number().int().min(0).default(2_000_000),
        stripReplies: z.boolean().default(true),
        parseWorkers: z.number().int().min(0).max(64).default(0),
      })
      .strict()
      .prefault({}),
    sources: z
      .record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'source names use letters, digits, - and _'), source)
      .default({}),
    push: push.optional(),
    http: z
      .object({ listen: hostPort.default('127.0.0.1:9465') })
      .strict()
      .optional(),
    shutdownTimeout: duration.prefault('30s'),
    routes: z.array(routeSchema).min(1),
    handlers: z.record(z.string(), handler).default({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type SourceConfig = Config['sources'][string];
export type ImapConfig = NonNullable<SourceConfig['imap']>;
export type Pop3Config = NonNullable<SourceConfig['pop3']>;
export type PushConfig = NonNullable<Config['push']>;
export type HandlerConfig = Config['handlers'][string];
export type SettleAction = SourceConfig['onSuccess'];
