import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonLogger } from '@tally/telemetry';
import { loadGatewayConfig } from './gateway-config';
import { createGateway, type Gateway } from './gateway-server';
import { UPSTREAMS } from './route-table';

/** Real sockets on loopback: a small upstream server stands in for a service, the gateway in front of it. */
describe('gateway proxying', () => {
  let upstream: http.Server;
  let gateway: Gateway;
  let base: string;
  let closedPort: number;
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let releaseStream: () => void = () => undefined;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        if (req.url!.startsWith('/api/v1/events/conflicts')) return; // never answers: the gateway times out
        if (req.method === 'GET' && req.url!.startsWith('/api/v1/events')) {
          // A CSV export: the first chunk goes out, the rest only when the test says so.
          res.writeHead(200, { 'content-type': 'text/csv', 'x-powered-by': 'Express', 'retry-after': '1' });
          res.write('id,value\n');
          releaseStream = () => res.end('e-1,1\n');
          return;
        }
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const spare = http.createServer();
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
    closedPort = (spare.address() as AddressInfo).port;
    await new Promise((r) => spare.close(r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const env: Record<string, string> = { GATEWAY_PORT: '0', GATEWAY_RESPONSE_TIMEOUT_MS: '500' };
    for (const name of UPSTREAMS) env[`${name.toUpperCase().replace(/-/g, '_')}_URL`] = upstreamUrl;
    env.BILLING_URL = `http://127.0.0.1:${closedPort}`;
    const document = {
      paths: {
        '/api/v1/events': { post: { 'x-tally-service': 'ingestion' }, get: { 'x-tally-service': 'aggregation' } },
        '/api/v1/events/conflicts': { get: { 'x-tally-service': 'aggregation' } },
        '/api/v1/customers': { get: { 'x-tally-service': 'billing' } },
      },
    };
    gateway = createGateway(loadGatewayConfig(env), document, new JsonLogger('gateway-test', undefined, 'error'));
    await new Promise<void>((r) => gateway.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });

  const rawStatus = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(base);
      const req = http.get({ hostname, port, path }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
    });

  afterAll(async () => {
    await gateway.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it('passes the allowed request headers and the body, and drops hop-by-hop, spoofed and unknown ones', async () => {
    const res = await fetch(`${base}/api/v1/events?x=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer k',
        'content-type': 'application/cloudevents+json',
        'idempotency-key': 'idem-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'a=b',
        'ce-id': 'evt-1',
        'x-forwarded-for': '10.0.0.1',
        cookie: 'session=1',
        'x-internal': 'y',
      },
      body: '{"id":"evt-1"}',
    });
    expect(res.status).toBe(202);
    const got = seen.at(-1)!;
    expect(got.url).toBe('/api/v1/events?x=1');
    expect(got.body).toBe('{"id":"evt-1"}');
    expect(got.headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/cloudevents+json', 'idempotency-key': 'idem-1', tracestate: 'a=b', 'ce-id': 'evt-1' });
    expect(got.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers['x-internal']).toBeUndefined();
  });

  it('streams a response: the first chunk reaches the client before the upstream has finished', async () => {
    const res = await fetch(`${base}/api/v1/events`, { headers: { accept: 'text/csv' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('retry-after')).toBe('1');
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('id,value\n');
    releaseStream();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += Buffer.from(chunk.value).toString();
    expect(rest).toBe('e-1,1\n');
  });

  it('answers 502 problem+json when the upstream refuses, naming no host or port', async () => {
    const res = await fetch(`${base}/api/v1/customers`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ status: 502, title: 'Bad Gateway' });
    expect(text).not.toContain(String(closedPort));
    expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|billing/);
  });

  it('answers 504 problem+json when the upstream does not answer in time', async () => {
    const started = Date.now();
    const res = await fetch(`${base}/api/v1/events/conflicts`);
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ status: 504, title: 'Gateway Timeout' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('answers 404 and 405 itself, refuses dot segments, and serves the document, docs page and metrics', async () => {
    expect((await fetch(`${base}/api/v1/nothing`)).status).toBe(404);
    const notAllowed = await fetch(`${base}/api/v1/customers`, { method: 'DELETE' });
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('allow')).toBe('GET');
    // fetch would resolve the dot segments itself; a raw request sends them as written.
    for (const path of ['/api/v1/events/%2e%2e/customers', '/api/v1/events/../customers']) expect(await rawStatus(path)).toBe(400);
    expect(await (await fetch(`${base}/api/v1/openapi.json`)).json()).toHaveProperty('paths./api/v1/customers');
    const page = await fetch(`${base}/api/v1/docs`);
    expect(await page.text()).toContain('/api/v1/docs/assets/swagger-ui-bundle.js');
    expect((await fetch(`${base}/api/v1/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/docs/assets/..%2fpackage.json`)).status).not.toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('tally_gateway_upstream_failures_total{upstream="billing",reason="refused"} 1');
    expect(metrics).toMatch(/tally_gateway_request_duration_seconds_count\{upstream="ingestion",route="\/api\/v1\/events",method="POST",status="202"\} 1/);
  });
});
