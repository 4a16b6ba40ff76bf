import { backoffMs, isDelivered, nextStep, parseRetryAfter, type RetryPolicy } from './retry-schedule';

const policy: RetryPolicy = { maxAttempts: 5, baseMs: 1000, maxMs: 10_000 };
const low = () => 0;
const high = () => 0.999999;

describe('backoffMs', () => {
  it('doubles per failed attempt, with equal jitter between half the step and the step', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, low))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, high))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(2, policy, () => 0.5)).toBe(1500);
  });

  it('caps the step at maxMs (no overflow for huge attempt counts) and treats attempt 0 like 1', () => {
    expect(backoffMs(5, policy, high)).toBe(10_000);
    expect(backoffMs(5, policy, low)).toBe(5_000);
    expect(backoffMs(10_000, policy, high)).toBe(10_000);
    expect(backoffMs(0, policy, low)).toBe(500);
  });

  it('keeps a misbehaving random source inside the window, and a zero base at zero', () => {
    expect(backoffMs(1, policy, () => 7)).toBe(1000);
    expect(backoffMs(1, policy, () => -1)).toBe(500);
    expect(backoffMs(3, { baseMs: 0, maxMs: 10 }, high)).toBe(0);
  });

  it('spreads retries of endpoints that failed together', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const delays = Array.from({ length: 200 }, () => backoffMs(3, policy, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4000);
    expect(new Set(delays).size).toBeGreaterThan(150);
  });
});

describe('nextStep', () => {
  it('succeeds on delivery, whatever the attempt', () => {
    expect(nextStep(1, { kind: 'delivered', statusCode: 204 }, policy, low)).toEqual({ status: 'succeeded' });
    expect(nextStep(5, { kind: 'delivered', statusCode: 200 }, policy, low)).toEqual({ status: 'succeeded' });
  });

  it('retries until the last attempt, then records the delivery as failed', () => {
    expect(nextStep(1, { kind: 'failed', retryable: true }, policy, low)).toEqual({ status: 'pending', delayMs: 500 });
    expect(nextStep(4, { kind: 'failed', retryable: true }, policy, low)).toEqual({ status: 'pending', delayMs: 4000 });
    expect(nextStep(5, { kind: 'failed', retryable: true }, policy, low)).toEqual({ status: 'failed' });
    expect(nextStep(6, { kind: 'failed', retryable: true }, policy, low)).toEqual({ status: 'failed' });
    expect(nextStep(1, { kind: 'failed', retryable: true }, { ...policy, maxAttempts: 1 }, low)).toEqual({ status: 'failed' });
  });

  it('fails at once when the target is refused (not retryable)', () => {
    expect(nextStep(1, { kind: 'failed', retryable: false }, policy, low)).toEqual({ status: 'failed' });
  });

  it("honours a receiver's Retry-After when longer than the backoff, never beyond the cap", () => {
    expect(nextStep(1, { kind: 'failed', retryable: true, retryAfterMs: 3000 }, policy, low)).toEqual({ status: 'pending', delayMs: 3000 });
    expect(nextStep(1, { kind: 'failed', retryable: true, retryAfterMs: 100 }, policy, low)).toEqual({ status: 'pending', delayMs: 500 });
    expect(nextStep(1, { kind: 'failed', retryable: true, retryAfterMs: 86_400_000 }, policy, low)).toEqual({ status: 'pending', delayMs: 10_000 });
  });
});

describe('isDelivered', () => {
  it('is exactly the 2xx range', () => {
    expect([199, 200, 204, 299, 300, 302, 400, 410, 429, 500].map(isDelivered)).toEqual([false, true, true, true, false, false, false, false, false, false]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-30T12:00:00Z');
  it('reads delta-seconds and HTTP dates; ignores what it cannot read', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 30 Nov 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Mon, 30 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});
