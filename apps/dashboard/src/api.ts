/**
 * The dashboard's one way to the APIs: same origin (the gateway), `Authorization: Bearer` with the tenant's API key
 * or a customer portal token, both kept in sessionStorage only (gone when the tab closes, never in a cookie, so no
 * request is authorized by the browser on its own).
 */
export type Session = { kind: 'key'; token: string } | { kind: 'portal'; token: string; customer: string; expiresAt: string };

const STORAGE_KEY = 'tally.dashboard.session';

export function loadSession(storage: Storage = sessionStorage): Session | null {
  try {
    const raw = storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if ((s.kind === 'key' || s.kind === 'portal') && typeof s.token === 'string' && s.token) return s;
  } catch {
    /* a damaged entry is the same as none */
  }
  return null;
}

export function saveSession(session: Session | null, storage: Storage = sessionStorage): void {
  if (session) storage.setItem(STORAGE_KEY, JSON.stringify(session));
  else storage.removeItem(STORAGE_KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function problemOf(res: Response): Promise<ApiError> {
  let detail = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as { detail?: string; title?: string };
    detail = body.detail ?? body.title ?? detail;
  } catch {
    /* not problem+json */
  }
  return new ApiError(res.status, detail);
}

export class Api {
  constructor(
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  async raw(path: string, accept = 'application/json', init: RequestInit = {}): Promise<Response> {
    const res = await this.fetchImpl(path, { ...init, headers: { accept, authorization: `Bearer ${this.token}`, ...(init.headers ?? {}) } });
    if (!res.ok) throw await problemOf(res);
    return res;
  }

  async json<T>(path: string): Promise<T> {
    return (await this.raw(path)).json() as Promise<T>;
  }

  /** Like json, but a 404 is null (a customer without a health score yet, a meter without an entitlement). */
  async maybe<T>(path: string): Promise<T | null> {
    try {
      return await this.json<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  async text(path: string, accept: string): Promise<string> {
    return (await this.raw(path, accept)).text();
  }
}

export const enc = encodeURIComponent;
