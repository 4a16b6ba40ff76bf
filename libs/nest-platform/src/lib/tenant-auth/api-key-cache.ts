import { Counter, register } from 'prom-client';
import { LruCache } from '../rate-limit/lru-cache';
import { TokenBuckets } from '../rate-limit/token-buckets';

export interface ApiKeyCacheOptions {
  /** Known keys remembered (bounded memory); unknown ones are remembered apart and cannot push these out. */
  maxKnown: number;
  maxUnknown: number;
  /** How long an answer is trusted before the projection is asked again (the revocation delay). */
  ttlMs: number;
  /** Lookups of keys not known to this cache: at most this many per second reach Postgres. */
  unknownLookupsPerSecond: number;
  unknownLookupsBurst: number;
}

export const DEFAULT_API_KEY_CACHE_OPTIONS: ApiKeyCacheOptions = {
  maxKnown: 10_000,
  maxUnknown: 10_000,
  ttlMs: 5_000,
  unknownLookupsPerSecond: 50,
  unknownLookupsBurst: 100,
};

export type ApiKeyResolution = { tenant: string } | { tenant: null; throttled: false } | { tenant: null; throttled: true; retryAfterSeconds: number };

const once = <T>(name: string, make: () => T): T => (register.getSingleMetric(name) as T | undefined) ?? make();
export const apiKeyLookups = once(
  'tally_api_key_lookups_total',
  () =>
    new Counter({
      name: 'tally_api_key_lookups_total',
      help: 'API key lookups that reached Postgres (a cache miss or a re-check), by result (known, unknown)',
      labelNames: ['result'],
    }),
);
export const apiKeyLookupsThrottled = once(
  'tally_api_key_lookups_throttled_total',
  () => new Counter({ name: 'tally_api_key_lookups_throttled_total', help: 'Unknown API keys refused without a lookup because too many unknown keys were tried' }),
);

/**
 * Which tenant an API key hash belongs to, with as few trips to Postgres as possible and bounded memory:
 * - known keys live in their own LRU, re-checked once per `ttlMs` (how fast a revocation bites); a
 *   re-check of a known key is never throttled, so known keys keep working during a flood;
 * - unknown keys live in a separate LRU, so a flood of random keys cannot push the known ones out;
 * - a key this cache has never seen costs a lookup, and those lookups share one token bucket: a flood of
 *   random keys reaches Postgres at a bounded rate, the rest is refused unchecked;
 * - concurrent requests with the same key share one lookup.
 */
export class ApiKeyCache {
  private readonly known: LruCache<string, { tenant: string; checkedAt: number }>;
  private readonly unknown: LruCache<string, true>;
  private readonly unknownLookups: TokenBuckets;
  private readonly inFlight = new Map<string, Promise<string | null>>();

  constructor(
    private readonly lookup: (hash: string) => Promise<string | null>,
    private readonly options: ApiKeyCacheOptions = DEFAULT_API_KEY_CACHE_OPTIONS,
  ) {
    this.known = new LruCache(options.maxKnown);
    this.unknown = new LruCache(options.maxUnknown);
    this.unknownLookups = new TokenBuckets(options.unknownLookupsPerSecond, options.unknownLookupsBurst, 1);
  }

  async resolve(hash: string, nowMs: number = Date.now()): Promise<ApiKeyResolution> {
    const known = this.known.get(hash, nowMs);
    if (known && nowMs - known.checkedAt < this.options.ttlMs) return { tenant: known.tenant };
    if (!known) {
      if (this.unknown.get(hash, nowMs)) return { tenant: null, throttled: false };
      if (!this.inFlight.has(hash)) {
        const allowed = this.unknownLookups.take('lookups', 1, nowMs);
        if (!allowed.ok) {
          apiKeyLookupsThrottled.inc();
          return { tenant: null, throttled: true, retryAfterSeconds: allowed.retryAfterSeconds };
        }
      }
    }
    const tenant = await this.lookupOnce(hash, nowMs);
    return tenant ? { tenant } : { tenant: null, throttled: false };
  }

  /** Forgets a key at once (e.g. this instance applied its revocation). */
  forget(hash: string): void {
    this.known.delete(hash);
  }

  private lookupOnce(hash: string, nowMs: number): Promise<string | null> {
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.lookup(hash)
        .then((tenant) => {
          apiKeyLookups.inc({ result: tenant ? 'known' : 'unknown' });
          if (tenant) {
            this.known.set(hash, { tenant, checkedAt: nowMs }, Number.POSITIVE_INFINITY, nowMs);
            this.unknown.delete(hash);
          } else {
            this.known.delete(hash);
            this.unknown.set(hash, true, this.options.ttlMs, nowMs);
          }
          return tenant;
        })
        .finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, pending);
    }
    return pending;
  }
}
