/** The parsed view of a message that routes and handlers see. Raw bytes stay in `raw`. */
import type { Classification } from './classify/types.js';
import type { Envelope, SourceRef } from './message.js';

export interface Address {
  name: string;
  address: string;
}

export interface AttachmentInfo {
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  inline: boolean;
  /** Set when the attachment was larger than the in-memory threshold and written to disk. */
  path: string | null;
  /** Set when the attachment was small enough to keep in memory. */
  content: Buffer | null;
}

export interface ParsedMessage {
  from: Address[];
  to: Address[];
  cc: Address[];
  replyTo: Address[];
  subject: string;
  /** ISO date from the Date header; null when missing or unparseable (never "now"). */
  date: string | null;
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  text: string | null;
  html: string | null;
  attachments: AttachmentInfo[];
  /** Lower-cased header name → raw unfolded values, in order. */
  headers: Map<string, string[]>;
  /** Parser warnings (conversion errors, limits reached) that did not stop parsing. */
  warnings: string[];
}

/** A message with nothing parsed (yet): no addresses, subject, dates, ids, body or headers. */
export function emptyParsed(): ParsedMessage {
  return {
    from: [],
    to: [],
    cc: [],
    replyTo: [],
    subject: '',
    date: null,
    messageId: null,
    inReplyTo: null,
    references: [],
    text: null,
    html: null,
    attachments: [],
    headers: new Map(),
    warnings: [],
  };
}

/** Everything a route and a handler get about one message. */
export interface MessageContext {
  /** Ledger id. */
  id: number;
  raw: Buffer;
  envelope: Envelope;
  source: SourceRef;
  receivedAt: Date;
  contentKey: string;
  sha256: string;
  /** The spool file holding exactly `raw` (write-once), when the message came from the spool. */
  spoolPath: string | null;
  parsed: ParsedMessage;
  classification: Classification;
  /** Reply text without quoted history/signature (filled by the reply stripper). */
  strippedReply: { text: string; quoted: string; signature: string } | null;
}
