/**
 * Cheap header-only test: does this message look like a delivery or feedback report? Only then
 * does classify() pay for a body walk. Returns the reasons (empty = not suspected).
 */
import { header, parseContentType, subjectOf, type HeaderField } from './headers.js';

const DAEMON_FROM =
  /(?:^|[<\s"])(?:mailer[-_]?daemon|post_?master|mail[-_ ]?delivery[-_ ]?(?:system|subsystem)?|mail[-_]?daemon|mdaemon|mailer[-_]?robot|bounce[sd]?|nobody|microsoftexchange[0-9a-f]*|no-?reply@sns\.amazonaws)\b/i;

const BOUNCE_SUBJECT = new RegExp(
  [
    'undeliver',
    'undelivered',
    'returned mail',
    'return(?:ed)? to sender',
    'delivery (?:status|failure|failed|notification|problem|report|has failed|incomplete|delayed)',
    'failure notice',
    'mail delivery',
    'mail system error',
    'non[- ]?deliver',
    'not delivered',
    'could not (?:be )?(?:delivered|send)',
    'delivery error',
    'warning: could not send',
    'delayed mail',
    'message (?:status|delayed|not delivered)',
    'rejected',
    'bounce',
    'aws notification',
    'complaint about message',
    'abuse report',
    'unzustellbar',
    'nicht zustellbar',
    'non remis',
    'no se puede entregar',
    'onbestelbaar',
    'niedostarczalna',
    'zustellung',
    '配信',
    '送信失敗',
    'エラー',
  ].join('|'),
  'iu',
);

export function bounceSuspicion(fields: readonly HeaderField[]): string[] {
  const reasons: string[] = [];
  const ct = parseContentType(header(fields, 'content-type'));
  if (ct.type === 'multipart/report')
    reasons.push(`Content-Type: multipart/report; report-type=${ct.params['report-type'] ?? ''}`);
  else if (ct.type.startsWith('message/')) reasons.push(`Content-Type: ${ct.type}`);
  const rp = header(fields, 'return-path');
  if (rp !== null && /^<\s*>$|^$/.test(rp.trim())) reasons.push('Return-Path: <>');
  const from = header(fields, 'from');
  if (from && DAEMON_FROM.test(from)) reasons.push(`From: ${from.slice(0, 60)}`);
  const subject = subjectOf(fields);
  if (subject && BOUNCE_SUBJECT.test(subject)) reasons.push(`subject: ${subject.slice(0, 60)}`);
  for (const name of [
    'x-failed-recipients',
    'x-amz-sns-message-id',
    'x-apple-unsubscribe',
    'x-hmxmroriginalrecipient',
  ]) {
    if (header(fields, name) !== null) reasons.push(name);
  }
  return reasons;
}
