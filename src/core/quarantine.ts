/**
 * Placeholders for messages that are recorded without their bytes (over the size limit, never
 * downloaded): the ledger row makes the decision auditable and lets the source pass the message.
 */
export interface OversizeNote {
  positionKey: string;
  size: number;
  maxSize: number;
}

/** Deterministic placeholder bytes for a position and size. */
export function oversizePlaceholder(i: OversizeNote): Buffer {
  return Buffer.from(
    [
      'From: mailintake <mailintake@localhost>',
      'Subject: [mailintake] message over the size limit, not downloaded',
      `X-Mailintake-Oversize: ${i.size}`,
      `X-Mailintake-Position: ${i.positionKey}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The message at ${i.positionKey} is ${i.size} bytes, over maxMessageSize ${i.maxSize}.`,
      'It was not downloaded and stays on the server.',
      '',
    ].join('\r\n'),
  );
}

export function oversizeReason(i: OversizeNote): string {
  return `oversize: ${i.size} bytes > maxMessageSize ${i.maxSize}`;
}
