import { describeJobError, retryDelayMs } from './job-retry';

describe('retryDelayMs', () => {
  const policy = { baseMs: 60_000, maxMs: 3_600_000 };

  it('doubles from the base after each failure', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, policy))).toEqual([60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000]);
  });

  it('is capped at the maximum, also after very many attempts (no overflow to Infinity)', () => {
    expect(retryDelayMs(7, policy)).toBe(3_600_000);
    expect(retryDelayMs(10_000, policy)).toBe(3_600_000);
    expect(retryDelayMs(2_147_483_647, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER })).toBe(2 ** 52);
  });

  it('treats a zero or negative attempt count as the first', () => {
    expect(retryDelayMs(0, policy)).toBe(60_000);
    expect(retryDelayMs(-5, policy)).toBe(60_000);
  });
});

describe('describeJobError', () => {
  it('keeps the name of a typed error and the message, on one line', () => {
    expect(describeJobError(new TypeError('x is\n  not\ta function'))).toBe('TypeError: x is not a function');
    expect(describeJobError(new Error('plan "pro" version 9 is missing'))).toBe('plan "pro" version 9 is missing');
  });

  it('describes what is not an Error', () => {
    expect(describeJobError('boom')).toBe('non-error thrown: boom');
    expect(describeJobError(undefined)).toBe('non-error thrown: undefined');
    expect(describeJobError(new Error(''))).toBe('unknown error');
  });

  it('bounds the length', () => {
    const text = describeJobError(new Error('x'.repeat(5000)), 100);
    expect(text).toHaveLength(100);
    expect(text.endsWith('…')).toBe(true);
  });
});
