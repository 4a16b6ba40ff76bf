/**
 * Per-key rate limit (a tenant, or one shared key for a global limit): a bucket of `burst` tokens refilled
 * at `ratePerSecond`. A request takes `count` tokens; when the bucket lacks them it is refused whole with
 * the seconds until it would fit. At most `maxKeys` buckets are kept: the least recently used one is
 * forgotten first (it comes back full, which errs on the side of the caller, never on memory).
 */
export class TokenBuckets {
  // A Map iterates in insertion order; re-inserting on every take keeps the least recently used first.
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number = ratePerSecond * 2,
    private readonly maxKeys = 100_000,
  ) {
    if (!(ratePerSecond > 0) || !(burst > 0) || !(maxKeys >= 1)) throw new Error('TokenBuckets: rate, burst and maxKeys must be positive');
  }

  take(key: string, count: number, nowMs: number = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    // A clock that steps back must not mint tokens (nor take them away).
    bucket.tokens = Math.min(this.burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = Math.max(bucket.at, nowMs);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    if (count > this.burst) return { ok: false, retryAfterSeconds: Math.ceil(count / this.ratePerSecond) };
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((count - bucket.tokens) / this.ratePerSecond)) };
  }

  /** Buckets currently remembered (bounded by `maxKeys`). */
  get size(): number {
    return this.buckets.size;
  }
}
