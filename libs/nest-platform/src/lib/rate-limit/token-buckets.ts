/**
 * Per-tenant rate limit: a bucket of `burst` tokens refilled at `ratePerSecond`. A request takes one
 * token per event; when the bucket lacks them it is refused whole with the seconds until it would fit.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number = ratePerSecond * 2,
  ) {}

  take(key: string, count: number, nowMs: number = Date.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: nowMs };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.ratePerSecond);
    bucket.at = nowMs;
    this.buckets.set(key, bucket);
    if (count > this.burst) return { ok: false, retryAfterSeconds: Math.ceil(count / this.ratePerSecond) };
    if (bucket.tokens >= count) {
      bucket.tokens -= count;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((count - bucket.tokens) / this.ratePerSecond)) };
  }
}
