/** Typed verdicts of the classifier: each carries the reasons that led to it. */

export interface AutoReplyVerdict {
  autoReply: boolean;
  /** e.g. ["Auto-Submitted: auto-replied", "X-Autoreply: yes", "subject: Out of Office"] */
  reasons: string[];
  /** vacation | auto-generated | list | unknown */
  kind: 'vacation' | 'auto-generated' | 'list' | 'none';
}

export interface BouncedRecipient {
  /** Lower-cased final (or original) recipient address. */
  recipient: string;
  /** DSN action: failed | delayed | delivered | relayed | expanded (RFC 3464), or null when unknown. */
  action: string | null;
  /** Enhanced status code such as "5.1.1", or null. */
  status: string | null;
  /** SMTP reply code such as "550", or null. */
  replyCode: string | null;
  /** Diagnostic text from the report (trimmed, at most 1000 chars). */
  diagnostic: string | null;
}

export interface BounceVerdict {
  bounce: boolean;
  /** dsn = RFC 3464 multipart/report; heuristic = MTA-specific text; arf = RFC 5965 feedback report */
  kind: 'dsn' | 'heuristic' | 'arf' | 'none';
  /** Permanent (5.x.x / failed) vs transient (4.x.x / delayed); null when unknown. */
  hard: boolean | null;
  recipients: BouncedRecipient[];
  /** ARF Feedback-Type (abuse, opt-out, ...) when kind is arf. */
  feedbackType: string | null;
  /** Message-ID of the original message when the report carries it. */
  originalMessageId: string | null;
  reasons: string[];
}

export interface LoopVerdict {
  loop: boolean;
  /** How many of our own X-Mailintake-Loop headers the message carries. */
  hops: number;
  reasons: string[];
}

export interface Classification {
  autoReply: AutoReplyVerdict;
  bounce: BounceVerdict;
  loop: LoopVerdict;
}

/** Header our own outgoing notifications and forwarded copies carry; seen again means a loop. */
export const LOOP_HEADER = 'X-Mailintake-Loop';
