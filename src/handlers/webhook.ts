/**
 * Webhook handler: POST JSON with an HMAC-SHA256 signature and an idempotency key.
 * 2xx = delivered; 408, 429, 5xx, timeouts and network errors = retry; other 4xx = permanent.
 * Never counts a non-2xx as delivered.
 */
import { createHmac } from 'node:crypto';
import { PermanentError, TemporaryError } from '../core/errors.js';
import { buildPayload } from '../core/payload.js';
import { deadline } from '../core/deadline.js';
import type { MessageContext } from '../core/parsed.js';
import type { Handler, HandlerCall } from './types.js';

export interface WebhookOptions {
  url: string;
  secret?: string | undefined;
  timeoutMs: number;
  rawInlineMax: number;
  headers?: Record<string, string> | undefined;
}

export const SIGNATURE_HEADER = 'x-mailintake-signature';
export const TIMESTAMP_HEADER = 'x-mailintake-timestamp';

/** `sha256=<hex>` over `<timestamp>.<body>`, so a receiver can reject replays outside a window. */
export function signBody(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function createWebhookHandler(name: string, opts: WebhookOptions): Handler {
  return {
    name,
    async handle(msg: MessageContext, call: HandlerCall) {
      const body = JSON.stringify(
        buildPayload(msg, call.match, call.idempotencyKey, {
          includeRaw: msg.raw.length <= opts.rawInlineMax,
        }),
      );
      const ts = Math.floor(Date.now() / 1000).toString();
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'mailintake',
        'idempotency-key': call.idempotencyKey,
        [TIMESTAMP_HEADER]: ts,
        ...(opts.headers ?? {}),
      };
      if (opts.secret) headers[SIGNATURE_HEADER] = signBody(opts.secret, ts, body);
      let res: Response;
      let text: string;
      const limit = deadline(call.signal, opts.timeoutMs);
      try {
        res = await fetch(opts.url, { method: 'POST', headers, body, signal: limit.signal });
        text = (await res.text().catch(() => '')).slice(0, 300);
      } catch (err) {
        throw new TemporaryError(`webhook ${name}: ${(err as Error).message}`, 'WEBHOOK_NETWORK', err);
      } finally {
        limit.dispose();
      }
      if (res.status >= 200 && res.status < 300) return;
      const detail = `webhook ${name}: HTTP ${res.status}${text ? ` ${text}` : ''}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        throw new TemporaryError(detail, `HTTP_${res.status}`);
      }
      throw new PermanentError(detail, `HTTP_${res.status}`);
    },
  };
}
