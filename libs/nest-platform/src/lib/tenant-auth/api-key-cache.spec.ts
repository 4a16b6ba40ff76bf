import { ApiKeyCache, type ApiKeyCacheOptions } from './api-key-cache';

const OPTIONS: ApiKeyCacheOptions = { maxKnown: 3, maxUnknown: 3, ttlMs: 5_000, unknownLookupsPerSecond: 10, unknownLookupsBurst: 20 };

/** A projection as a map, counting how often it is asked. */
function projection(keys: Record<string, string>) {
  const calls: string[] = [];
  const lookup = async (hash: string) => {
    calls.push(hash);
    return keys[hash] ?? null;
  };
  return { calls, lookup, keys };
}

describe('ApiKeyCache', () => {
  it('looks a known key up once per ttl', async () => {
    const p = projection({ h1: 'acme' });
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    expect(await cache.resolve('h1', 0)).toEqual({ tenant: 'acme' });
    expect(await cache.resolve('h1', 4_999)).toEqual({ tenant: 'acme' });
    expect(p.calls).toEqual(['h1']);
    expect(await cache.resolve('h1', 5_000)).toEqual({ tenant: 'acme' });
    expect(p.calls).toEqual(['h1', 'h1']);
  });

  it('notices a revocation at the next re-check', async () => {
    const p = projection({ h1: 'acme' });
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    await cache.resolve('h1', 0);
    delete p.keys.h1;
    expect(await cache.resolve('h1', 1_000)).toEqual({ tenant: 'acme' });
    expect(await cache.resolve('h1', 5_000)).toEqual({ tenant: null, throttled: false });
  });

  it('remembers an unknown key for the ttl, then asks again (a key created meanwhile works)', async () => {
    const p = projection({});
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    expect(await cache.resolve('new', 0)).toEqual({ tenant: null, throttled: false });
    p.keys.new = 'acme';
    expect(await cache.resolve('new', 4_999)).toEqual({ tenant: null, throttled: false });
    expect(await cache.resolve('new', 5_000)).toEqual({ tenant: 'acme' });
    expect(p.calls).toEqual(['new', 'new']);
  });

  it('a flood of unknown keys neither evicts known keys nor reaches the projection beyond the lookup rate', async () => {
    const p = projection({ h1: 'acme', h2: 'globex' });
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    await cache.resolve('h1', 0);
    await cache.resolve('h2', 0);
    const answers = [];
    for (let i = 0; i < 1_000; i++) answers.push(await cache.resolve(`random-${i}`, 1_000));
    expect(answers.every((a) => a.tenant === null)).toBe(true);
    // The burst of 20 was looked up; the other 980 were refused unchecked.
    expect(p.calls.filter((h) => h.startsWith('random-'))).toHaveLength(20);
    expect(answers.filter((a) => a.tenant === null && a.throttled)).toHaveLength(980);
    expect(answers.find((a) => a.tenant === null && a.throttled)).toEqual({ tenant: null, throttled: true, retryAfterSeconds: 1 });
    // Known keys answer from memory, without a lookup.
    const before = p.calls.length;
    expect(await cache.resolve('h1', 1_000)).toEqual({ tenant: 'acme' });
    expect(await cache.resolve('h2', 1_000)).toEqual({ tenant: 'globex' });
    expect(p.calls.length).toBe(before);
    // One second later, 10 more lookups are allowed.
    for (let i = 0; i < 100; i++) await cache.resolve(`later-${i}`, 2_000);
    expect(p.calls.filter((h) => h.startsWith('later-'))).toHaveLength(10);
  });

  it('re-checks a known key even while unknown lookups are throttled', async () => {
    const p = projection({ h1: 'acme' });
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    await cache.resolve('h1', 0);
    for (let i = 0; i < 100; i++) await cache.resolve(`random-${i}`, 5_000);
    expect(await cache.resolve('h1', 5_000)).toEqual({ tenant: 'acme' });
    expect(p.calls.filter((h) => h === 'h1')).toHaveLength(2);
  });

  it('keeps at most maxKnown known keys', async () => {
    const p = projection({ a: 't', b: 't', c: 't', d: 't' });
    const cache = new ApiKeyCache(p.lookup, OPTIONS);
    for (const k of ['a', 'b', 'c', 'd']) await cache.resolve(k, 0);
    p.calls.length = 0;
    for (const k of ['b', 'c', 'd']) await cache.resolve(k, 0);
    expect(p.calls).toEqual([]);
    await cache.resolve('a', 0);
    expect(p.calls).toEqual(['a']);
  });

  it('shares one lookup between concurrent requests with the same key', async () => {
    let release: () => void = () => undefined;
    const calls: string[] = [];
    const cache = new ApiKeyCache(
      (hash) => {
        calls.push(hash);
        return new Promise((resolve) => (release = () => resolve('acme')));
      },
      OPTIONS,
    );
    const pending = Array.from({ length: 50 }, () => cache.resolve('h1', 0));
    release();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 50 }, () => ({ tenant: 'acme' })));
    expect(calls).toEqual(['h1']);
  });

  it('lets a failed lookup fail the request, and tries again next time', async () => {
    let fail = true;
    const cache = new ApiKeyCache(async () => {
      if (fail) throw new Error('canceling statement due to statement timeout');
      return 'acme';
    }, OPTIONS);
    await expect(cache.resolve('h1', 0)).rejects.toThrow(/statement timeout/);
    fail = false;
    expect(await cache.resolve('h1', 0)).toEqual({ tenant: 'acme' });
  });
});
