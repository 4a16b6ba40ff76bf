import { decodeFeedCursor, encodeFeedCursor, FeedQueryError, feedFilter, feedPage, parseFeedPage } from './feed-page';

const errorOf = (f: () => unknown): FeedQueryError => {
  try {
    f();
  } catch (e) {
    if (e instanceof FeedQueryError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('parseFeedPage', () => {
  it('defaults to 50 newest, no time bound, first page', () => {
    expect(parseFeedPage({})).toEqual({ limit: 50, since: null, after: null });
  });

  it('takes limits 1 to 500 only, as whole numbers', () => {
    expect(parseFeedPage({ limit: '1' }).limit).toBe(1);
    expect(parseFeedPage({ limit: '500' }).limit).toBe(500);
    for (const bad of ['0', '501', '-1', '1.5', '1e2', ' 5', '', 'abc', '99999', '0x10']) expect(errorOf(() => parseFeedPage({ limit: bad })).pointer).toBe('/limit');
  });

  it('refuses a parameter given twice (an array) instead of picking one', () => {
    expect(errorOf(() => parseFeedPage({ limit: ['5', '6'] })).detail).toBe('may be given once');
    expect(errorOf(() => parseFeedPage({ since: ['2026-01-01T00:00:00Z'] })).pointer).toBe('/since');
    expect(errorOf(() => parseFeedPage({ cursor: {} })).pointer).toBe('/cursor');
  });

  it('takes since as RFC 3339 with a zone only', () => {
    expect(parseFeedPage({ since: '2026-01-31T00:00:00Z' }).since).toBe('2026-01-31T00:00:00Z');
    expect(parseFeedPage({ since: '2026-01-31T01:00:00.123456+01:00' }).since).toBe('2026-01-31T01:00:00.123456+01:00');
    for (const bad of ['2026-01-31', '2026-01-31T00:00:00', '2026-02-30T00:00:00Z', 'yesterday', "2026-01-31T00:00:00Z' OR 1=1"]) {
      expect(errorOf(() => parseFeedPage({ since: bad })).pointer).toBe('/since');
    }
  });

  it('round-trips a cursor with microseconds', () => {
    const c = { at: '2026-11-30T20:41:00.123456Z', id: '42' };
    expect(parseFeedPage({ cursor: encodeFeedCursor(c) }).after).toEqual(c);
    expect(decodeFeedCursor(encodeFeedCursor(c))).toEqual(c);
  });

  it('refuses forged or broken cursors', () => {
    const forge = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of [
      '', 'not a cursor!', 'x'.repeat(201), forge({ at: '2026-01-01T00:00:00Z', id: '1' }), forge(['2026-01-01T00:00:00Z']),
      forge(["2026-01-01T00:00:00Z'; DROP TABLE x; --", '1']), forge(['2026-01-01T00:00:00Z', '0']), forge(['2026-01-01T00:00:00Z', '1 OR 1=1']),
      forge(['2026-01-01T00:00:00Z', 1]), forge(['2026-13-01T00:00:00.000000Z', '1']), forge(['2026-01-01 00:00:00+00', '1']), Buffer.from('{').toString('base64url'),
    ]) {
      expect(errorOf(() => decodeFeedCursor(bad)).pointer).toBe('/cursor');
    }
  });
});

describe('feedFilter', () => {
  it('is null when absent, the value when given once, refused when empty, too long or repeated', () => {
    expect(feedFilter('customer', undefined)).toBeNull();
    expect(feedFilter('customer', 'c-1')).toBe('c-1');
    expect(errorOf(() => feedFilter('customer', '')).pointer).toBe('/customer');
    expect(errorOf(() => feedFilter('customer', 'x'.repeat(257))).pointer).toBe('/customer');
    expect(errorOf(() => feedFilter('customer', ['a', 'b'])).detail).toBe('may be given once');
  });
});

describe('feedPage', () => {
  const rows = [1, 2, 3].map((n) => ({ at: `2026-01-0${n}T00:00:00.000000Z`, id: String(n) }));
  it('cuts the extra row and points the cursor at the last row shown', () => {
    const { page, nextCursor } = feedPage(rows, 2, (r) => r);
    expect(page).toEqual(rows.slice(0, 2));
    expect(decodeFeedCursor(nextCursor!)).toEqual(rows[1]);
  });
  it('has no cursor on the last page', () => {
    expect(feedPage(rows, 3, (r) => r)).toEqual({ page: rows, nextCursor: null });
    expect(feedPage([], 3, (r: { at: string; id: string }) => r)).toEqual({ page: [], nextCursor: null });
  });
});
