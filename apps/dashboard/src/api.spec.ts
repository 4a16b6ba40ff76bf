import { Api, ApiError, loadSession, saveSession } from './api';

/** sessionStorage's interface over a Map (this tier runs without a browser). */
class MemoryStorage implements Storage {
  private readonly items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  clear() {
    this.items.clear();
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  key(i: number) {
    return [...this.items.keys()][i] ?? null;
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
  setItem(key: string, value: string) {
    this.items.set(key, String(value));
  }
}

describe('session', () => {
  it('keeps an API-key or portal session and forgets it on sign-out', () => {
    const storage = new MemoryStorage();
    expect(loadSession(storage)).toBeNull();
    saveSession({ kind: 'key', token: 'tly_x' }, storage);
    expect(loadSession(storage)).toEqual({ kind: 'key', token: 'tly_x' });
    saveSession({ kind: 'portal', token: 'tpt_y', customer: 'c-1', expiresAt: '2026-12-01T00:00:00.000Z' }, storage);
    expect(loadSession(storage)).toMatchObject({ kind: 'portal', customer: 'c-1' });
    saveSession(null, storage);
    expect(storage.length).toBe(0);
  });

  it('treats a damaged or foreign entry as no session', () => {
    const storage = new MemoryStorage();
    for (const raw of ['{', '"x"', '{"kind":"admin","token":"t"}', '{"kind":"key","token":""}', '{"kind":"key"}']) {
      storage.setItem('tally.dashboard.session', raw);
      expect(loadSession(storage)).toBeNull();
    }
  });
});

describe('Api', () => {
  const calls: Array<{ url: string; headers: Record<string, string> }> = [];
  const answer = (status: number, body: string, type = 'application/json') =>
    (async (url: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(url), headers: init?.headers as Record<string, string> });
      return new Response(status === 204 ? null : body, { status, headers: { 'content-type': type } });
    }) as typeof fetch;

  it('sends the bearer token and the accept header', async () => {
    calls.length = 0;
    expect(await new Api('tly_k', answer(200, '{"a":1}')).json('/api/v1/meters')).toEqual({ a: 1 });
    expect(calls[0]).toEqual({ url: '/api/v1/meters', headers: { accept: 'application/json', authorization: 'Bearer tly_k' } });
    expect(await new Api('tly_k', answer(200, 'a,b\n', 'text/csv')).text('/api/v1/events', 'text/csv')).toBe('a,b\n');
    expect(calls[1].headers.accept).toBe('text/csv');
  });

  it("turns a problem+json into an ApiError with its detail, and a 404 into null for maybe()", async () => {
    await expect(new Api('t', answer(403, '{"status":403,"title":"Forbidden","detail":"a portal token reads its own customer only"}')).json('/x')).rejects.toEqual(new ApiError(403, 'a portal token reads its own customer only'));
    await expect(new Api('t', answer(502, 'upstream html', 'text/html')).json('/x')).rejects.toMatchObject({ status: 502 });
    expect(await new Api('t', answer(404, '{"detail":"no"}')).maybe('/x')).toBeNull();
    await expect(new Api('t', answer(401, '{"detail":"bad key"}')).maybe('/x')).rejects.toMatchObject({ status: 401, message: 'bad key' });
  });
});
