import { describe, expect, it } from 'vitest';
import { LOOP_HEADER } from '../../../../src/core/classify/types.js';
import { notificationHeaders } from '../../../../src/core/reply/outgoing.js';

describe('notificationHeaders', () => {
  it('sets RFC 3834 and Exchange suppression, the loop header and a Message-ID', () => {
    const { headers, messageId } = notificationHeaders({
      loopToken: 'inst-1',
      domain: 'helpdesk.example.com',
    });
    expect(headers).toMatchObject({
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      [LOOP_HEADER]: 'inst-1',
      'Message-ID': messageId,
    });
    expect(messageId).toMatch(/^<[^<>@\s]+@helpdesk\.example\.com>$/);
    expect(headers['Precedence']).toBeUndefined();
  });

  it('threads follow-ups and accepts a given Message-ID', () => {
    const { headers, messageId } = notificationHeaders({
      loopToken: 't',
      messageId: 'n2@x.com',
      inReplyTo: '<n1@x.com>',
      references: ['<n0@x.com>'],
      precedence: 'bulk',
    });
    expect(messageId).toBe('<n2@x.com>');
    expect(headers).toMatchObject({
      'In-Reply-To': '<n1@x.com>',
      References: '<n0@x.com> <n1@x.com>',
      Precedence: 'bulk',
    });
  });

  it('rejects header injection', () => {
    expect(() => notificationHeaders({ loopToken: 'a\r\nBcc: x' })).toThrow(TypeError);
    expect(() => notificationHeaders({ loopToken: 't', messageId: 'a@b>\r\nX: y' })).toThrow(TypeError);
  });
});
