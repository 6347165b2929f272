/**
 * What the listener answers when intake fails. One place: the size cap is 552, a policy refusal
 * carries its own code, and everything else (spool write error, ENOSPC, database error) is a
 * temporary 451 so the sender keeps the message and retries; a 250 is never sent without a
 * durable copy.
 */
import { SizeLimitError } from '../../core/errors.js';
import { BareLfError } from './bare-lf.js';

export interface SmtpReplyError extends Error {
  responseCode: number;
}

export function smtpError(responseCode: number, message: string): SmtpReplyError {
  return Object.assign(new Error(message), { responseCode });
}

/** Maps an intake failure to the SMTP reply for DATA. */
export function dataFailureReply(err: unknown): SmtpReplyError {
  if (err instanceof SizeLimitError)
    return smtpError(552, '5.3.4 Message size exceeds fixed maximum message size');
  if (err instanceof BareLfError) return smtpError(err.responseCode, err.message);
  return smtpError(451, '4.3.0 Temporary local problem; message not accepted, try again later');
}
