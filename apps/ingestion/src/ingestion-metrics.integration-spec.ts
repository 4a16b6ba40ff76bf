import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { HEADERS, TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { ingestionService } from './ingestion.service';

const ADMIN = 'ingestion-metrics-admin-token';

/** One sample of the exposition text, by name and exact labels (order-insensitive); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.keys(labels).length === Object.keys(got).length && Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('ingestion /metrics (real Kafka + Postgres): HTTP by route template, events accepted/rejected by reason, outbox backlog and age', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let key: string;

  const call = (method: string, path: string, token: string | null, body?: unknown, contentType = 'application/json') =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const event = (overrides: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: `evt-${Math.random().toString(36).slice(2)}`,
    source: 'metrics-test',
    type: 'api.call',
    subject: 'customer-1',
    time: new Date().toISOString(),
    data: { calls: 1 },
    ...overrides,
  });

  beforeAll(async () => {
    await suite.createTopics();
    service = await createServiceApp(
      ingestionService,
      suite.serviceConfig(ingestionService, { ADMIN_TOKEN: ADMIN, INGEST_RATE_LIMIT_PER_SECOND: '1', INGEST_RATE_LIMIT_BURST: '20' }),
    );
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: 'acme', name: 'ACME' })).status).toBe(201);
    key = ((await (await call('POST', '/api/v1/admin/tenants/acme/api-keys', ADMIN, { name: 'm' })).json()) as { key: string }).key;
    expect((await call('POST', '/api/v1/meters', key, { slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' })).status).toBe(201);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('labels requests with the route template, never the raw path, and lumps unknown paths together', async () => {
    for (const slug of ['api-calls', 'no-such-meter', 'x'.repeat(40)]) await call('GET', `/api/v1/meters/${slug}`, key);
    for (let i = 0; i < 3; i++) expect((await call('GET', `/random/${i}/${Math.random()}`, key)).status).toBe(404);
    const text = await scrape();
    const route = '/api/v1/meters/:slug';
    const routes = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('tally_http_server_request_duration_seconds_count'))
        .map((l) => /route="([^"]*)"/.exec(l)?.[1]),
    );
    // Only templates and the one shared value: no slug, no random path became a label.
    expect([...routes].filter((r) => r !== 'unmatched' && !/^\/(api\/v1\/|metrics|health)/.test(r ?? ''))).toEqual([]);
    expect([...routes].filter((r) => /no-such-meter|random|xxxx/.test(r ?? ''))).toEqual([]);
    expect(sample(text, 'tally_http_server_request_duration_seconds_count', { route, method: 'GET', status: '200' })).toBe(1);
    expect(sample(text, 'tally_http_server_request_duration_seconds_count', { route, method: 'GET', status: '404' })).toBe(2);
    expect(sample(text, 'tally_http_server_request_duration_seconds_count', { route: 'unmatched', method: 'GET', status: '404' })).toBe(3);
    expect(sample(text, 'tally_http_server_request_duration_seconds_bucket', { route, method: 'GET', status: '200', le: '+Inf' })).toBe(1);
    expect(sample(text, 'tally_http_server_request_duration_seconds_count', { route: '/api/v1/meters', method: 'POST', status: '201' })).toBe(1);
  });

  it('counts accepted events and rejected ones by reason, per event for a refused batch', async () => {
    const post = (body: unknown, contentType = 'application/cloudevents+json') => call('POST', '/api/v1/events', key, body, contentType);
    expect((await post(event())).status).toBe(202);
    expect((await post([event(), event()], 'application/cloudevents-batch+json')).status).toBe(202);
    // One bad field refuses the whole batch of three.
    expect((await post([event(), event(), event({ time: 'nope' })], 'application/cloudevents-batch+json')).status).toBe(400);
    expect((await post('{"specversion":')).status).toBe(400);
    expect((await post(event(), 'text/plain')).status).toBe(415);
    // A batch larger than the bucket (burst 20) is refused whole, whatever has refilled.
    const limited = await post(Array.from({ length: 25 }, () => event()), 'application/cloudevents-batch+json');
    expect(limited.status).toBe(429);
    const text = await scrape();
    expect(sample(text, 'tally_ingest_events_accepted_total', { transport: 'http' })).toBe(3);
    expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'http', reason: 'invalid' })).toBe(3);
    expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'http', reason: 'malformed' })).toBe(1);
    expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'http', reason: 'unsupported_media_type' })).toBe(1);
    expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'http', reason: 'rate_limited' })).toBe(25);
  });

  it('counts raw Kafka events accepted and rejected by reason', async () => {
    await suite.produce(TOPICS.usageEventsRaw, [
      { key: 'c', value: event({ id: 'raw-ok' }), headers: { [HEADERS.tenant]: 'acme' } },
      { key: 'c', value: event({ id: 'raw-unknown' }), headers: { [HEADERS.tenant]: 'nobody' } },
      { key: 'c', value: event({ id: 'raw-none' }) },
      { key: 'c', value: event({ id: 'raw-bad', data: { calls: 'many' } }), headers: { [HEADERS.tenant]: 'acme' } },
    ]);
    await expectEventually(async () => {
      const text = await scrape();
      expect(sample(text, 'tally_ingest_events_accepted_total', { transport: 'kafka' })).toBe(1);
      expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'kafka', reason: 'unknown_tenant' })).toBe(1);
      expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'kafka', reason: 'no_tenant' })).toBe(1);
      expect(sample(text, 'tally_ingest_events_rejected_total', { transport: 'kafka', reason: 'invalid' })).toBe(1);
    });
  });

  it('shows a stalled relay as outbox backlog and age, and both back at 0 once it publishes', async () => {
    await expectEventually(async () => expect(sample(await scrape(), 'tally_outbox_backlog')).toBe(0));
    expect(sample(await scrape(), 'tally_outbox_oldest_age_seconds')).toBe(0);
    const schema = `"${suite.schema('ingestion')}"`;
    // Holding the relay's advisory lock is what a stuck relay looks like from the table: rows wait.
    const holder = service.app.get(DataSource).createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`tally-outbox:${schema}`]);
      await suite.query(
        `INSERT INTO ${schema}.outbox (topic, message_key, value, headers, created_at) VALUES ($1, 'k', '{}', '{}', now() - interval '90 seconds'), ($1, 'k', '{}', '{}', now())`,
        [suite.topic(TOPICS.catalogMeters)],
      );
      const text = await scrape();
      expect(sample(text, 'tally_outbox_backlog')).toBe(2);
      expect(sample(text, 'tally_outbox_oldest_age_seconds')).toBeGreaterThanOrEqual(90);
      expect(sample(text, 'tally_outbox_oldest_age_seconds')).toBeLessThan(600);
    } finally {
      await holder.commitTransaction();
      await holder.release();
    }
    await expectEventually(async () => {
      const text = await scrape();
      expect(sample(text, 'tally_outbox_backlog')).toBe(0);
      expect(sample(text, 'tally_outbox_oldest_age_seconds')).toBe(0);
    });
  });
});
