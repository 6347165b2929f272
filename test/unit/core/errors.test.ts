import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/core/backoff.js';
import { classifyFailure, PermanentError, TemporaryError } from '../../../src/core/errors.js';

describe('classifyFailure', () => {
  it('keeps typed verdicts and treats unknown errors as temporary', () => {
    expect(classifyFailure(new PermanentError('bad')).retryable).toBe(false);
    expect(classifyFailure(new TemporaryError('later')).retryable).toBe(true);
    expect(classifyFailure(new Error('boom')).retryable).toBe(true);
    expect(classifyFailure('string').retryable).toBe(true);
    const econn = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(classifyFailure(econn)).toMatchObject({ retryable: true, code: 'ECONNRESET' });
  });
});

describe('backoffDelay', () => {
  it('grows exponentially with jitter in [exp/2, exp] and is capped', () => {
    const o = { baseMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(1, o, () => 0)).toBe(500);
    expect(backoffDelay(1, o, () => 1)).toBe(1000);
    expect(backoffDelay(4, o, () => 1)).toBe(8000);
    expect(backoffDelay(30, o, () => 1)).toBe(60_000);
    expect(backoffDelay(30, o, () => 0)).toBe(30_000);
  });
});
