import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('returns what was set and forgets the least recently used beyond its size', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1, Infinity, 0);
    cache.set('b', 2, Infinity, 0);
    expect(cache.get('a', 0)).toBe(1); // a is now more recent than b
    cache.set('c', 3, Infinity, 0);
    expect(cache.get('b', 0)).toBeUndefined();
    expect(cache.get('a', 0)).toBe(1);
    expect(cache.get('c', 0)).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('expires entries after their time to live, and drops them', () => {
    const cache = new LruCache<string, string>(10);
    cache.set('k', 'acme', 5_000, 1_000);
    expect(cache.get('k', 5_999)).toBe('acme');
    expect(cache.get('k', 6_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('replaces a value and its expiry on set', () => {
    const cache = new LruCache<string, string>(10);
    cache.set('k', 'acme', 1_000, 0);
    cache.set('k', 'globex', 10_000, 0);
    expect(cache.get('k', 5_000)).toBe('globex');
    expect(cache.size).toBe(1);
  });

  it('stays bounded under a flood of distinct keys', () => {
    const cache = new LruCache<string, null>(100);
    for (let i = 0; i < 100_000; i++) cache.set(`random-${i}`, null);
    expect(cache.size).toBe(100);
  });

  it('deletes', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
  });

  it('refuses a size below one', () => {
    expect(() => new LruCache(0)).toThrow();
  });
});
