import { TokenBuckets } from './token-buckets';

describe('TokenBuckets', () => {
  describe('burst', () => {
    it('allows the whole burst at once at start', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 20, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    });

    it('allows the burst one token at a time, then refuses', () => {
      const buckets = new TokenBuckets(10, 20);
      for (let i = 0; i < 20; i++) expect(buckets.take('acme', 1, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
    });

    it('defaults the burst to twice the rate', () => {
      const buckets = new TokenBuckets(5);
      expect(buckets.take('acme', 10, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
      expect(buckets.take('globex', 11, 0)).toEqual({ ok: false, retryAfterSeconds: 3 });
    });
  });

  describe('refill', () => {
    it('refills at the rate per second of elapsed time', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 20, 1_000)).toEqual({ ok: true });
      // 100 ms at 10/s is one token.
      expect(buckets.take('acme', 1, 1_100)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 1_100)).toEqual({ ok: false, retryAfterSeconds: 1 });
      // One more second is ten more tokens, not eleven.
      expect(buckets.take('acme', 10, 2_100)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 2_100)).toMatchObject({ ok: false });
    });

    it('never holds more than the burst, however long it was idle', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 20, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 20, 3_600_000)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 3_600_000)).toEqual({ ok: false, retryAfterSeconds: 1 });
    });

    it('does not take tokens for a refused request', () => {
      const buckets = new TokenBuckets(2, 10);
      expect(buckets.take('acme', 10, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 9, 1_000)).toMatchObject({ ok: false });
      // Had the refusal taken the 2 tokens, only 7 would be there 3.5 s later.
      expect(buckets.take('acme', 9, 4_500)).toEqual({ ok: true });
    });

    it('uses Date.now() when no time is given', () => {
      const now = jest.spyOn(Date, 'now').mockReturnValue(50_000);
      try {
        const buckets = new TokenBuckets(1, 2);
        expect(buckets.take('acme', 2)).toEqual({ ok: true });
        expect(buckets.take('acme', 1)).toMatchObject({ ok: false });
        now.mockReturnValue(51_000);
        expect(buckets.take('acme', 1)).toEqual({ ok: true });
      } finally {
        now.mockRestore();
      }
    });
  });

  describe('keys', () => {
    it('keeps a bucket per key', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 20, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 0)).toMatchObject({ ok: false });
      expect(buckets.take('globex', 20, 0)).toEqual({ ok: true });
      expect(buckets.take('globex', 1, 0)).toMatchObject({ ok: false });
      expect(buckets.take('initech', 1, 0)).toEqual({ ok: true });
    });
  });

  describe('retryAfterSeconds', () => {
    it('refuses a request larger than the burst with ceil(count / rate), without emptying the bucket', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 21, 0)).toEqual({ ok: false, retryAfterSeconds: 3 });
      expect(buckets.take('acme', 100, 0)).toEqual({ ok: false, retryAfterSeconds: 10 });
      expect(buckets.take('acme', 20, 0)).toEqual({ ok: true });
      expect(new TokenBuckets(4, 8).take('acme', 30, 0)).toEqual({ ok: false, retryAfterSeconds: 8 });
    });

    it('is at least 1 even when the missing tokens arrive in under a second', () => {
      const buckets = new TokenBuckets(10, 20);
      expect(buckets.take('acme', 20, 0)).toEqual({ ok: true });
      // 5 tokens after 500 ms; 6 need 0.1 s more.
      expect(buckets.take('acme', 6, 500)).toEqual({ ok: false, retryAfterSeconds: 1 });
    });

    it('counts only the missing tokens when the bucket is partly refilled', () => {
      const buckets = new TokenBuckets(2, 10);
      expect(buckets.take('acme', 10, 0)).toEqual({ ok: true });
      // 2 tokens after 1 s: 9 lack 7, at 2/s 3.5 s, rounded up.
      expect(buckets.take('acme', 9, 1_000)).toEqual({ ok: false, retryAfterSeconds: 4 });
      // 10 lack 8: exactly 4 s.
      expect(buckets.take('acme', 10, 1_000)).toEqual({ ok: false, retryAfterSeconds: 4 });
      // Waiting less than advised is still too early; waiting as advised is enough.
      expect(buckets.take('acme', 9, 4_000)).toMatchObject({ ok: false });
      expect(buckets.take('acme', 9, 5_000)).toEqual({ ok: true });
    });

    it('handles a rate below one per second', () => {
      const buckets = new TokenBuckets(0.5, 1);
      expect(buckets.take('acme', 1, 0)).toEqual({ ok: true });
      expect(buckets.take('acme', 1, 0)).toEqual({ ok: false, retryAfterSeconds: 2 });
      expect(buckets.take('acme', 1, 1_999)).toMatchObject({ ok: false });
      expect(buckets.take('acme', 1, 2_000)).toEqual({ ok: true });
    });
  });
});

describe('TokenBuckets memory bound', () => {
  it('keeps at most maxKeys buckets, forgetting the least recently used', () => {
    const buckets = new TokenBuckets(1, 1, 2);
    expect(buckets.take('acme', 1, 0)).toEqual({ ok: true });
    expect(buckets.take('globex', 1, 0)).toEqual({ ok: true });
    // acme is used again, so globex is now the least recently used and is forgotten for initech.
    expect(buckets.take('acme', 1, 0)).toMatchObject({ ok: false });
    expect(buckets.take('initech', 1, 0)).toEqual({ ok: true });
    expect(buckets.size).toBe(2);
    expect(buckets.take('acme', 1, 0)).toMatchObject({ ok: false });
    expect(buckets.take('globex', 1, 0)).toEqual({ ok: true });
  });

  it('stays bounded under a flood of distinct keys', () => {
    const buckets = new TokenBuckets(10, 20, 1000);
    for (let i = 0; i < 50_000; i++) buckets.take(`k${i}`, 1, 0);
    expect(buckets.size).toBe(1000);
  });

  it('does not mint tokens when the clock steps back', () => {
    const buckets = new TokenBuckets(10, 20);
    expect(buckets.take('acme', 20, 10_000)).toEqual({ ok: true });
    expect(buckets.take('acme', 1, 0)).toMatchObject({ ok: false });
    expect(buckets.take('acme', 1, 10_100)).toEqual({ ok: true });
  });

  it('refuses nonsensical settings at construction', () => {
    expect(() => new TokenBuckets(0)).toThrow();
    expect(() => new TokenBuckets(1, 1, 0)).toThrow();
    expect(() => new TokenBuckets(Number.NaN)).toThrow();
  });
});
