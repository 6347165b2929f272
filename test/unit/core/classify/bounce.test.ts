import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';

const msg = (head: string, body = 'hello\n'): Buffer => Buffer.from(`${head.trim()}\n\n${body}`, 'utf8');

const DSN_HEAD = `From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: ann@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"`;

function dsn(perRecipient: string): Buffer {
  return msg(
    DSN_HEAD,
    `--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

${perRecipient}

--B
Content-Type: text/rfc822-headers

From: ann@example.com
To: bob@example.net
Message-ID: <Orig-1@Example.COM>
Subject: hi

--B--
`,
  );
}

describe('RFC 3464 DSN', () => {
  it('extracts recipients, status, reply code, diagnostic, hard', () => {
    const c = classify(
      dsn(`Final-Recipient: rfc822; Bob@example.net
Original-Recipient: rfc822;bob@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected:
    User unknown

Final-Recipient: rfc822; carol@example.net
Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; 451 4.4.1 try again later`),
    );
    expect(c.bounce).toMatchObject({
      bounce: true,
      kind: 'dsn',
      hard: true,
      originalMessageId: 'Orig-1@example.com',
    });
    expect(c.bounce.recipients).toEqual([
      {
        recipient: 'bob@example.net',
        action: 'failed',
        status: '5.1.1',
        replyCode: '550',
        diagnostic: '550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
      },
      {
        recipient: 'carol@example.net',
        action: 'delayed',
        status: '4.4.1',
        replyCode: '451',
        diagnostic: '451 4.4.1 try again later',
      },
    ]);
    // Policy: a bounce keeps its explicit Auto-Submitted marker but nothing weaker.
    expect(c.autoReply).toMatchObject({
      autoReply: true,
      kind: 'vacation',
      reasons: ['Auto-Submitted: auto-replied'],
    });
  });

  it('derives the status from the reply code when there is no enhanced code', () => {
    const c = classify(
      dsn(
        'Final-Recipient: rfc822; bob@example.net\nAction: failed\nDiagnostic-Code: smtp; 550 no such user',
      ),
    );
    expect(c.bounce.recipients[0]).toMatchObject({ status: '5.0.0', replyCode: '550' });
  });

  it('a delay-only DSN is a soft bounce', () => {
    const c = classify(dsn('Final-Recipient: rfc822; bob@example.net\nAction: delayed\nStatus: 4.4.7'));
    expect(c.bounce).toMatchObject({ bounce: true, hard: false });
  });

  it('a success DSN is a report but not a bounce', () => {
    const c = classify(dsn('Final-Recipient: rfc822; bob@example.net\nAction: delivered\nStatus: 2.0.0'));
    expect(c.bounce).toMatchObject({ bounce: false, kind: 'dsn' });
    expect(c.bounce.recipients[0]?.status).toBe('2.0.0');
  });
});

describe('ARF', () => {
  it('reads the feedback type and original recipient', () => {
    const raw = msg(
      'From: fbl@isp.example\nTo: abuse@example.com\nSubject: complaint\nContent-Type: multipart/report; report-type=feedback-report; boundary="F"',
      `--F
Content-Type: text/plain

This is an abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Rcpt-To: <Dan@isp.example>

--F
Content-Type: message/rfc822

From: news@example.com
To: dan@isp.example
Message-ID: <n1@example.com>

buy
--F--
`,
    );
    const c = classify(raw);
    expect(c.bounce).toMatchObject({
      bounce: true,
      kind: 'arf',
      feedbackType: 'abuse',
      hard: null,
      originalMessageId: 'n1@example.com',
    });
    expect(c.bounce.recipients.map((r) => r.recipient)).toEqual(['dan@isp.example']);
  });
});

describe('text bounces (heuristic)', () => {
  it('qmail', () => {
    const c = classify(
      msg(
        'From: MAILER-DAEMON@mx.example.net\nTo: ann@example.com\nSubject: failure notice',
        `Hi. This is the qmail-send program at mx.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<bob@example.net>:
192.0.2.1 does not like recipient.
Remote host said: 550 5.1.1 unknown user
Giving up on 192.0.2.1.

--- Below this line is a copy of the message.

Return-Path: <ann@example.com>
To: bob@example.net
Message-ID: <q1@example.com>
`,
      ),
    );
    expect(c.bounce).toMatchObject({
      bounce: true,
      kind: 'heuristic',
      hard: true,
      originalMessageId: 'q1@example.com',
    });
    expect(c.bounce.recipients).toMatchObject([
      { recipient: 'bob@example.net', status: '5.1.1', replyCode: '550' },
    ]);
  });

  it('Exim with X-Failed-Recipients and a reply code only', () => {
    const c = classify(
      msg(
        'From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nTo: ann@example.com\nSubject: Mail delivery failed: returning message to sender\nX-Failed-Recipients: bob@example.net',
        `This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  bob@example.net
    host mx.example.net [192.0.2.2]: 550 mailbox unavailable
`,
      ),
    );
    expect(c.bounce.recipients).toMatchObject([
      { recipient: 'bob@example.net', status: '5.0.0', replyCode: '550' },
    ]);
  });

  it('Exim queue expiry is a final failure with a temporary-class status', () => {
    const c = classify(
      msg(
        'From: Mail Delivery System <Mailer-Daemon@mx.example.net>\nSubject: Mail delivery failed\nX-Failed-Recipients: bob@example.net',
        'This message was created automatically by mail delivery software.\n\nThe following address(es) failed:\n\n  bob@example.net\n    retry timeout exceeded\n',
      ),
    );
    expect(c.bounce).toMatchObject({ bounce: true, hard: true });
    expect(c.bounce.recipients[0]).toMatchObject({
      recipient: 'bob@example.net',
      action: 'failed',
      status: '4.4.7',
    });
  });

  it('Amazon SES notification', () => {
    const json = JSON.stringify({
      notificationType: 'Bounce',
      bounce: {
        bounceType: 'Permanent',
        bouncedRecipients: [
          {
            emailAddress: 'bob@example.net',
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
      },
      mail: { messageId: 'ses-1' },
    });
    const c = classify(
      msg(
        'From: AWS <no-reply@sns.amazonaws.com>\nSubject: AWS Notification Message\nx-amz-sns-message-id: 1',
        json,
      ),
    );
    expect(c.bounce).toMatchObject({ bounce: true, hard: true });
    expect(c.bounce.recipients[0]).toMatchObject({
      recipient: 'bob@example.net',
      status: '5.1.1',
      replyCode: '550',
    });
  });

  it('a postmaster writing ordinary mail is not a bounce', () => {
    const c = classify(
      msg(
        'From: postmaster@example.net\nTo: ann@example.com\nSubject: New mail server',
        'We move to a new server on Monday.\nContact bob@example.net.\n',
      ),
    );
    expect(c.bounce.bounce).toBe(false);
    expect(c.bounce.reasons).toContain('no report found in body');
  });

  it('a read receipt (MDN) is not a bounce', () => {
    const c = classify(
      msg(
        'From: bob@example.net\nSubject: Read: hi\nContent-Type: multipart/report; report-type=disposition-notification; boundary="M"',
        '--M\nContent-Type: text/plain\n\nYour message was read.\n--M\nContent-Type: message/disposition-notification\n\nFinal-Recipient: rfc822; bob@example.net\nDisposition: manual-action/MDN-sent-manually; displayed\n--M--\n',
      ),
    );
    expect(c.bounce.bounce).toBe(false);
  });
});
