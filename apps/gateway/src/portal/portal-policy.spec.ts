import { portalDecision } from './portal-policy';

const allow = (method: string, path: string, search = '', customer = 'c-1') => {
  const d = portalDecision(method, path, search, customer);
  return d.allow ? d.path : `${d.status}`;
};

describe('portalDecision', () => {
  it("reads the customer's own alerts only: the customer is forced, every other customer refused", () => {
    expect(allow('GET', '/api/v1/alerts')).toBe('/api/v1/alerts?customer=c-1');
    expect(allow('GET', '/api/v1/alerts', 'customer=c-1&limit=5&kind=overage')).toBe('/api/v1/alerts?limit=5&kind=overage&customer=c-1');
    expect(allow('GET', '/api/v1/alerts/', 'meter=api-calls&since=2026-01-01T00:00:00Z')).toBe('/api/v1/alerts?meter=api-calls&since=2026-01-01T00%3A00%3A00Z&customer=c-1');
    expect(allow('GET', '/api/v1/alerts', 'customer=c-2')).toBe('403');
    expect(allow('GET', '/api/v1/alerts', 'customer=C-1')).toBe('403');
    expect(allow('GET', '/api/v1/alerts', 'customer=c-1&customer=c-2')).toBe('400');
    expect(allow('GET', '/api/v1/alerts', 'customer%5B%5D=c-2')).toBe('400');
    expect(allow('GET', '/api/v1/alerts', 'customer=')).toBe('403');
    // `subject` is not this route's customer parameter: refused rather than passed on or dropped.
    expect(allow('GET', '/api/v1/alerts', 'subject=c-1')).toBe('400');
    expect(allow('GET', '/api/v1/alerts', 'tenant=other')).toBe('400');
    expect(allow('GET', '/api/v1/alerts', 'limit=1&limit=2')).toBe('400');
    // A cursor (wherever it came from) is passed with the customer still forced.
    expect(allow('GET', '/api/v1/alerts', 'cursor=WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMDAwMFoiLCIxIl0')).toBe('/api/v1/alerts?cursor=WyIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMDAwMFoiLCIxIl0&customer=c-1');
    // The customer's id is encoded, so it cannot add a parameter of its own.
    expect(allow('GET', '/api/v1/alerts', '', 'a&customer=b')).toBe('/api/v1/alerts?customer=a%26customer%3Db');
    expect(allow('GET', '/api/v1/alerts/c-2')).toBe('403');
    expect(allow('POST', '/api/v1/alerts')).toBe('405');
    // The other feeds are the vendor's, not a customer's.
    expect(allow('GET', '/api/v1/health/signals', 'type=churn-risk&customer=c-1')).toBe('403');
    expect(allow('GET', '/api/v1/dead-letters')).toBe('403');
  });

  it("allows the customer's own reads, rebuilt from the recognized parts", () => {
    expect(allow('GET', '/api/v1/customers/c-1')).toBe('/api/v1/customers/c-1');
    expect(allow('GET', '/api/v1/customers/c-1/invoices/upcoming/')).toBe('/api/v1/customers/c-1/invoices/upcoming');
    expect(allow('HEAD', '/api/v1/customers/c-1/subscriptions', 'x=1')).toBe('/api/v1/customers/c-1/subscriptions');
    expect(allow('GET', '/api/v1/entitlements/c-1/api-calls')).toBe('/api/v1/entitlements/c-1/api-calls');
    expect(allow('GET', '/api/v1/meters/api-calls/query', 'windowSize=DAY&from=2026-01-01T00:00:00Z')).toBe('/api/v1/meters/api-calls/query?windowSize=DAY&from=2026-01-01T00%3A00%3A00Z&subject=c-1');
    expect(allow('GET', '/api/v1/events', 'limit=10')).toBe('/api/v1/events?limit=10&subject=c-1');
    expect(allow('GET', '/api/v1/events', 'subject=c-1')).toBe('/api/v1/events?subject=c-1');
  });

  it('encodes an odd customer id the same way in every path it builds', () => {
    expect(allow('GET', '/api/v1/customers/a%20b%2Fc/invoices', '', 'a b/c')).toBe('400');
    expect(allow('GET', '/api/v1/customers/a%20b%3Fc/invoices', '', 'a b?c')).toBe('/api/v1/customers/a%20b%3Fc/invoices');
    expect(allow('GET', '/api/v1/events', '', 'a&subject=b')).toBe('/api/v1/events?subject=a%26subject%3Db');
  });

  it("refuses another customer's data in path params, query params and batch routes", () => {
    expect(allow('GET', '/api/v1/customers/c-2/invoices')).toBe('403');
    expect(allow('GET', '/api/v1/customers/C-1')).toBe('403');
    expect(allow('GET', '/api/v1/customers/c%2D2')).toBe('403');
    expect(allow('GET', '/api/v1/customers/c-1%00')).toBe('403');
    expect(allow('GET', '/api/v1/entitlements/c-2/api-calls')).toBe('403');
    expect(allow('POST', '/api/v1/entitlements/check')).toBe('405');
    expect(allow('GET', '/api/v1/events', 'subject=c-2')).toBe('403');
    expect(allow('GET', '/api/v1/events', 'subject=c-1&subject=c-2')).toBe('400');
    expect(allow('GET', '/api/v1/events', 'subject=c-1,c-2')).toBe('403');
    expect(allow('GET', '/api/v1/events', 'subject%5B%5D=c-2')).toBe('400');
    expect(allow('GET', '/api/v1/meters/api-calls/query', 'subject=c-2')).toBe('403');
    expect(allow('GET', '/api/v1/meters/api-calls/query', 'groupBy=subject')).toBe('400');
    expect(allow('GET', '/api/v1/meters/api-calls/query', 'from=a&from=b')).toBe('400');
  });

  it('refuses tenant-wide lists, writes and anything not on the list', () => {
    for (const path of ['/api/v1/customers', '/api/v1/customers/health', '/api/v1/customers/c-1/health', '/api/v1/meters', '/api/v1/analytics', '/api/v1/events/conflicts', '/api/v1/plans/starter', '/api/v1/subscriptions/s-1', '/api/v1/portal/tokens', '/metrics', '/api/v1/customers/c-1/coupons']) {
      expect(`${path} ${allow('GET', path)}`).toBe(`${path} 403`);
    }
    expect(allow('POST', '/api/v1/events')).toBe('405');
    expect(allow('POST', '/api/v1/portal/tokens')).toBe('405');
    expect(allow('POST', '/api/v1/customers/c-1/credits')).toBe('405');
    expect(allow('GET', '/api/v1//customers/c-1')).toBe('400');
    expect(allow('GET', '/api/v1/customers/%E0%A4%A')).toBe('400');
  });

  it('asks for an ownership check of invoices, whose ids name no customer', () => {
    expect(portalDecision('GET', '/api/v1/invoices/inv-1', '', 'c-1')).toEqual({ allow: true, path: '/api/v1/invoices/inv-1', ownership: { kind: 'invoice', id: 'inv-1' } });
    expect(portalDecision('GET', '/api/v1/invoices/inv-1.pdf', '', 'c-1')).toEqual({ allow: true, path: '/api/v1/invoices/inv-1.pdf', ownership: { kind: 'invoice', id: 'inv-1' } });
    expect(allow('POST', '/api/v1/invoices/inv-1/void')).toBe('405');
    expect(allow('GET', '/api/v1/invoices/inv-1/void')).toBe('403');
  });
});
