import { httpRequestLabels, UNMATCHED_ROUTE } from './http-metrics';

describe('httpRequestLabels', () => {
  const base = { method: 'GET', statusCode: 200, finished: true };

  it('uses the route template the request matched, with the router mount point', () => {
    expect(httpRequestLabels({ ...base, routePath: '/api/v1/meters/:slug' })).toEqual({ route: '/api/v1/meters/:slug', method: 'GET', status: '200' });
    expect(httpRequestLabels({ ...base, baseUrl: '/api', routePath: '/v1/x/:id' }).route).toBe('/api/v1/x/:id');
    expect(httpRequestLabels({ ...base, baseUrl: '', routePath: '' }).route).toBe('/');
  });

  it('lumps requests without a route (404s, scanners) and routes without one template into one value', () => {
    expect(httpRequestLabels({ ...base, statusCode: 404 }).route).toBe(UNMATCHED_ROUTE);
    expect(httpRequestLabels({ ...base, routePath: /^\/re/ }).route).toBe(UNMATCHED_ROUTE);
    expect(httpRequestLabels({ ...base, routePath: ['/a', '/b'] }).route).toBe(UNMATCHED_ROUTE);
    expect(httpRequestLabels({ ...base, baseUrl: '/ignored', routePath: undefined }).route).toBe(UNMATCHED_ROUTE);
  });

  it('bounds the method label and normalizes its case', () => {
    expect(httpRequestLabels({ ...base, method: 'post' }).method).toBe('POST');
    for (const m of ['PROPFIND', 'MKCOL', 'PURGE', '']) expect(httpRequestLabels({ ...base, method: m }).method).toBe('OTHER');
  });

  it('says aborted when the client went away before the response ended, whatever status was set', () => {
    expect(httpRequestLabels({ ...base, statusCode: 200, finished: false }).status).toBe('aborted');
    expect(httpRequestLabels({ ...base, statusCode: 503, finished: true }).status).toBe('503');
  });
});
