/**
 * What a customer portal token may read: an allow-list of GET routes, each bound to the token's customer. The
 * request is never forwarded as sent: the upstream path and query are rebuilt from the recognized parts, so a
 * second `subject`, a `subject[]`, an encoded slash, a case variant or a batch route cannot widen what is read.
 */
export type PortalDecision =
  | { allow: true; path: string; ownership?: { kind: 'invoice'; id: string } }
  | { allow: false; status: 400 | 403 | 405; detail: string };

const API = '/api/v1';
const enc = encodeURIComponent;

const deny = (status: 400 | 403 | 405, detail: string): PortalDecision => ({ allow: false, status, detail });

/** A path segment as the upstream's router will decode it, or null when it is not valid percent-encoding. */
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * Rebuilds a query from the parameters the route allows (each at most once); the customer parameter (`subject`,
 * or `customer` on the alerts feed) must be the token's customer and is set by us either way. Anything else is
 * refused rather than dropped, so a client learns early.
 */
function scopedQuery(search: string, allowed: readonly string[], customer: string, customerParam = 'subject'): { ok: true; query: string } | { ok: false; detail: string } {
  const params = new URLSearchParams(search);
  const out = new URLSearchParams();
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return { ok: false, detail: `query parameter "${name}" may be given once` };
    seen.add(name);
    if (name === customerParam) {
      if (value !== customer) return { ok: false, detail: 'a portal token reads its own customer only' };
      continue;
    }
    if (!allowed.includes(name)) return { ok: false, detail: `query parameter "${name.slice(0, 50)}" is not available with a portal token` };
    out.set(name, value);
  }
  out.set(customerParam, customer);
  return { ok: true, query: out.toString() };
}

const CUSTOMER_ROUTES = new Set(['', 'invoices', 'invoices/upcoming', 'subscriptions', 'credits', 'credit-notes']);
const QUERY_PARAMS = ['from', 'to', 'windowSize', 'windowTimeZone'];
const EVENTS_PARAMS = ['from', 'to', 'limit', 'cursor', 'meter'];
// A cursor only positions within the customer-forced query upstream, so one from another customer reads nothing of theirs.
const ALERTS_PARAMS = ['meter', 'kind', 'since', 'limit', 'cursor'];

/**
 * `pathname` is the raw request path (no query), `search` the raw query without `?`. Dot segments were refused
 * before this is asked.
 */
export function portalDecision(method: string, pathname: string, search: string, customer: string): PortalDecision {
  if (method !== 'GET' && method !== 'HEAD') return deny(405, 'a portal token can only read');
  if (!pathname.startsWith(`${API}/`)) return deny(403, 'not available with a portal token');
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  const segments = trimmed.slice(API.length + 1).split('/');
  const decoded = segments.map(decodeSegment);
  if (decoded.some((s) => s === null || s === '' || s.includes('/'))) return deny(400, 'malformed path');
  const parts = decoded as string[];
  const own = enc(customer);
  const forbidden = deny(403, 'a portal token reads its own customer only');

  // /customers/{customer}[/invoices|/invoices/upcoming|/subscriptions|/credits|/credit-notes]
  if (parts[0] === 'customers' && parts.length >= 2) {
    const rest = parts.slice(2).join('/');
    if (!CUSTOMER_ROUTES.has(rest)) return deny(403, 'not available with a portal token');
    if (parts[1] !== customer) return forbidden;
    return { allow: true, path: `${API}/customers/${own}${rest ? `/${rest}` : ''}` };
  }
  // /entitlements/{customer}/{meter} (the batch check is not: it names customers in its body)
  if (parts[0] === 'entitlements' && parts.length === 3) {
    if (parts[1] !== customer) return forbidden;
    return { allow: true, path: `${API}/entitlements/${own}/${enc(parts[2])}` };
  }
  // /meters/{slug}/query with subject forced to the customer (no groupBy: every row is the customer's anyway)
  if (parts[0] === 'meters' && parts.length === 3 && parts[2] === 'query') {
    const q = scopedQuery(search, QUERY_PARAMS, customer);
    if (!q.ok) return deny(q.detail.startsWith('a portal') ? 403 : 400, q.detail);
    return { allow: true, path: `${API}/meters/${enc(parts[1])}/query?${q.query}` };
  }
  // /events (JSON pages or the CSV export) of the customer only
  if (parts[0] === 'events' && parts.length === 1) {
    const q = scopedQuery(search, EVENTS_PARAMS, customer);
    if (!q.ok) return deny(q.detail.startsWith('a portal') ? 403 : 400, q.detail);
    return { allow: true, path: `${API}/events?${q.query}` };
  }
  // /alerts (the threshold alerts feed) of the customer only
  if (parts[0] === 'alerts' && parts.length === 1) {
    const q = scopedQuery(search, ALERTS_PARAMS, customer, 'customer');
    if (!q.ok) return deny(q.detail.startsWith('a portal') ? 403 : 400, q.detail);
    return { allow: true, path: `${API}/alerts?${q.query}` };
  }
  // /invoices/{id} and /invoices/{id}.pdf: the id names no customer, so the gateway checks the owner first.
  if (parts[0] === 'invoices' && parts.length === 2) {
    const pdf = parts[1].endsWith('.pdf') && parts[1].length > 4;
    const id = pdf ? parts[1].slice(0, -4) : parts[1];
    return { allow: true, path: `${API}/invoices/${enc(id)}${pdf ? '.pdf' : ''}`, ownership: { kind: 'invoice', id } };
  }
  return deny(403, 'not available with a portal token');
}
