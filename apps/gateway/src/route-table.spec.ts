import { RouteTable } from './route-table';

const op = (service: string) => ({ 'x-tally-service': service });
const table = new RouteTable({
  paths: {
    '/api/v1/events': { post: op('ingestion'), get: op('aggregation') },
    '/api/v1/meters/{slug}': { get: op('ingestion'), put: op('ingestion') },
    '/api/v1/meters/{slug}/query': { get: op('aggregation') },
    '/api/v1/customers/{id}': { get: op('billing') },
    '/api/v1/customers/health': { get: op('health-scoring') },
    '/api/v1/invoices/{id}': { get: op('billing') },
    '/api/v1/invoices/{id}.pdf': { get: op('billing') },
    '/api/v1/undocumented': { get: { summary: 'no x-tally-service: not routed' } },
  },
});
const upstreamOf = (method: string, path: string) => {
  const r = table.resolve(method, path);
  return r.found ? r.route.upstream : r.status;
};

describe('RouteTable', () => {
  it('routes one path to different services by method', () => {
    expect(upstreamOf('POST', '/api/v1/events')).toBe('ingestion');
    expect(upstreamOf('GET', '/api/v1/events')).toBe('aggregation');
    expect(upstreamOf('HEAD', '/api/v1/events')).toBe('aggregation');
  });

  it('prefers a literal segment over a parameter, and a longer template is not a prefix match', () => {
    expect(upstreamOf('GET', '/api/v1/customers/health')).toBe('health-scoring');
    expect(upstreamOf('GET', '/api/v1/customers/c-1')).toBe('billing');
    expect(upstreamOf('GET', '/api/v1/meters/api-calls/query')).toBe('aggregation');
    expect(upstreamOf('GET', '/api/v1/meters/api-calls')).toBe('ingestion');
    expect(upstreamOf('GET', '/api/v1/meters/api-calls/query/extra')).toBe(404);
  });

  it('matches a parameter inside a segment and labels the request with its template', () => {
    expect(table.resolve('GET', '/api/v1/invoices/inv-1.pdf')).toEqual({ found: true, route: { method: 'GET', template: '/api/v1/invoices/{id}.pdf', upstream: 'billing' } });
    expect(table.resolve('GET', '/api/v1/invoices/inv-1')).toMatchObject({ route: { template: '/api/v1/invoices/{id}' } });
  });

  it('answers 405 with the allowed methods, and 404 for anything undocumented, empty or outside the API', () => {
    expect(table.resolve('DELETE', '/api/v1/events')).toEqual({ found: false, status: 405, allow: ['GET', 'POST'] });
    expect(upstreamOf('GET', '/api/v1/undocumented')).toBe(404);
    expect(upstreamOf('GET', '/api/v1/customers/')).toBe(404);
    expect(upstreamOf('GET', '/api/v1//health')).toBe(404);
    expect(upstreamOf('GET', '/metrics')).toBe(404);
    expect(upstreamOf('GET', '/API/V1/EVENTS')).toBe(404);
  });

  it('tolerates one trailing slash like Express', () => {
    expect(upstreamOf('GET', '/api/v1/meters/api-calls/')).toBe('ingestion');
  });

  it('refuses a document naming an unknown upstream', () => {
    expect(() => new RouteTable({ paths: { '/api/v1/x': { get: op('mail') } } })).toThrow('unknown upstream mail');
  });
});
