/** Small builders for pure-logic tests: a parsed message and a classification. */
import type { Classification } from '../../src/core/classify/types.js';
import type { ParsedMessage } from '../../src/core/parsed.js';
import { noBounce } from '../../src/core/classify/bounce.js';

export function parsedMessage(p: Partial<ParsedMessage> = {}): ParsedMessage {
  return {
    from: [{ name: '', address: 'alice@customer.example' }],
    to: [],
    cc: [],
    replyTo: [],
    subject: 'Re: printer on fire',
    date: null,
    messageId: null,
    inReplyTo: null,
    references: [],
    text: 'hi',
    html: null,
    attachments: [],
    headers: new Map(),
    warnings: [],
    ...p,
  };
}

export function classification(opts: { autoReply?: boolean } = {}): Classification {
  const auto = opts.autoReply === true;
  return {
    autoReply: { autoReply: auto, reasons: [], kind: auto ? 'vacation' : 'none' },
    bounce: noBounce(),
    loop: { loop: false, hops: 0, reasons: [] },
  };
}
