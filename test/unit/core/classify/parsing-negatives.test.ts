import { describe, expect, it } from 'vitest';
import { classify } from '../../../../src/core/classify/index.js';
import type { AutoReplyVerdict } from '../../../../src/core/classify/types.js';
import { isParsingMessage, manifest, readCorpus } from './corpus.js';

interface Exclusion {
  autoReply: AutoReplyVerdict['kind'];
  bounce: boolean;
  why: string;
}

/**
 * parsing/ messages that really are reports, auto-replies or bulk/list mail (flagged by design:
 * Precedence bulk/junk and List-* headers give autoReply kind auto-generated/list). Each entry
 * pins the exact verdict, so an exclusion cannot hide a wrong kind.
 */
const EXCLUDED: Record<string, Exclusion> = {
  'parsing/james-mime4j/mimetools-testmsgs/badbound.msg': {
    autoReply: 'none',
    bounce: true,
    why: '1996 "Returned Mail" notice from Postmaster (SOURCES.md)',
  },
  'parsing/sisimai-set-of-emails/maildir/not/rb-issue-368-bug.eml': {
    autoReply: 'vacation',
    bounce: false,
    why: 'Auto-Submitted: auto-replied; hand-made notice, not a bounce (sisimai negative case)',
  },
  'parsing/cpython-test_email/msg_32.txt': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'FreeBSD list post, Precedence: bulk',
  },
  'parsing/cpython-test_email/msg_33.txt': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'FreeBSD list post, Precedence: bulk',
  },
  'parsing/django-mailbox/message_with_image_jpg_mimetype.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'Precedence: bulk',
  },
  'parsing/django-mailbox/message_with_utf8_char.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'Precedence: bulk',
  },
  'parsing/flanker/apache-message-news-mime.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'new-httpd list post, Precedence: bulk',
  },
  'parsing/flanker/from-encoding.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'new-httpd list post, Precedence: bulk',
  },
  'parsing/flanker/message-external-body.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'new-httpd list post, Precedence: bulk',
  },
  'parsing/mikel-mail/error_emails/bad_date_header.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'spam, Precedence: junk',
  },
  'parsing/nodemailer-mailparser/large_text.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'Launchpad bug mail, Precedence: bulk + List-Id',
  },
  'parsing/james-mime4j/dom/mime4j-219-new-date-time-format.msg': {
    autoReply: 'list',
    bounce: false,
    why: 'list post: Precedence: list, List-Id',
  },
  'parsing/james-mime4j/mimetools-testmsgs/jt-0498.msg': {
    autoReply: 'list',
    bounce: false,
    why: 'list post: Precedence: list',
  },
  'parsing/mailauth/message3.eml': { autoReply: 'list', bounce: false, why: 'newsletter: List-Unsubscribe' },
  'parsing/mikel-mail/error_emails/empty_in_reply_to.eml': {
    autoReply: 'list',
    bounce: false,
    why: 'list post: List-Id',
  },
  'parsing/php-mime-mail-parser/m0015': {
    autoReply: 'list',
    bounce: false,
    why: 'newsletter: List-Unsubscribe',
  },
  'parsing/webklex-php-imap/1366671050@github.com.eml': {
    autoReply: 'auto-generated',
    bounce: false,
    why: 'GitHub notification: List-Id, X-Auto-Response-Suppress: All',
  },
};

describe('corpus parsing/: no false auto-reply or bounce flags', () => {
  const files = manifest()
    .filter((r) => r.kind === 'parsing' && isParsingMessage(r.path))
    .map((r) => r.path);

  it('selects the 511 message files of SOURCES.md', () => {
    expect(files).toHaveLength(511);
    for (const f of Object.keys(EXCLUDED)) expect(files).toContain(f);
  });

  it('flags none of the plain messages', () => {
    const flagged = files
      .filter((f) => !(f in EXCLUDED))
      .map((f) => ({ f, c: classify(readCorpus(f)) }))
      .filter(({ c }) => c.autoReply.autoReply || c.bounce.bounce)
      .map(({ f, c }) => `${f}: ${[...c.autoReply.reasons, ...c.bounce.reasons].join('; ')}`);
    expect(flagged).toEqual([]);
  });

  it.each(Object.entries(EXCLUDED))('%s has its expected verdict', (file, want) => {
    const c = classify(readCorpus(file));
    expect(c.autoReply.kind).toBe(want.autoReply);
    expect(c.autoReply.autoReply).toBe(want.autoReply !== 'none');
    expect(c.bounce.bounce).toBe(want.bounce);
  });

  it('the other sisimai negatives are neither bounce nor auto-reply', () => {
    for (const f of ['is-not-bounce-01.eml', 'is-not-bounce-02.eml']) {
      const c = classify(readCorpus(`parsing/sisimai-set-of-emails/maildir/not/${f}`));
      expect(c.bounce.bounce).toBe(false);
      expect(c.autoReply.autoReply).toBe(false);
    }
  });
});
