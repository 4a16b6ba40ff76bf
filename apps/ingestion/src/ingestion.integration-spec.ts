import type { AddressInfo } from 'node:net';
import { dlqTopicFor, HEADERS, TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { ingestionService } from './ingestion.service';

const ADMIN = 'ingestion-test-admin-token';

describe('ingestion service (real Kafka + Postgres, over HTTP)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let collector: TopicCollector;
  const keys: Record<string, { id: string; key: string }> = {};

  const call = (method: string, path: string, token: string | null, body?: unknown, contentType = 'application/json') =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const postEvents = (body: unknown, tenant = 'acme', contentType = 'application/cloudevents+json') => call('POST', '/api/v1/events', keys[tenant].key, body, contentType);
  const problemOf = async (res: Response) => {
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    return (await res.json()) as { status: number; detail: string; errors?: Array<{ pointer: string; detail: string }> };
  };
  const event = (overrides: Record<string, unknown> = {}) => ({
    specversion: '1.0',
    id: `evt-${Math.random().toString(36).slice(2)}`,
    source: 'api-gateway',
    type: 'api.call',
    subject: 'customer-1',
    time: new Date().toISOString(),
    data: { calls: 2 },
    ...overrides,
  });

  beforeAll(async () => {
    await suite.createTopics();
    service = await createServiceApp(
      ingestionService,
      suite.serviceConfig(ingestionService, {
        ADMIN_TOKEN: ADMIN,
        INGEST_MAX_EVENT_BYTES: '2048',
        INGEST_MAX_BATCH_BYTES: '65536',
        INGEST_RATE_LIMIT_PER_SECOND: '100',
        INGEST_MAX_LATENESS_HOURS: '48',
      }),
    );
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    collector = await suite.collect([TOPICS.usageEvents, TOPICS.usageEventsDlq, TOPICS.catalogMeters]);
    for (const tenant of ['acme', 'globex']) {
      expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: tenant, name: tenant.toUpperCase() })).status).toBe(201);
      const res = await call('POST', `/api/v1/admin/tenants/${tenant}/api-keys`, ADMIN, { name: 'test' });
      expect(res.status).toBe(201);
      keys[tenant] = (await res.json()) as { id: string; key: string };
    }
    expect((await call('POST', '/api/v1/meters', keys.acme.key, { slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' })).status).toBe(201);
    expect((await call('POST', '/api/v1/meters', keys.acme.key, { slug: 'requests', eventType: 'api.call', aggregation: 'COUNT' })).status).toBe(201);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  describe('authentication and the admin API', () => {
    it('answers 401 without a key, with an unknown key and with a revoked key', async () => {
      expect((await call('POST', '/api/v1/events', null, event())).status).toBe(401);
      const unknown = await call('POST', '/api/v1/events', 'tly_not-a-key', event());
      expect(unknown.status).toBe(401);
      expect((await problemOf(unknown)).detail).toBe('unknown or revoked API key');
      const extra = (await (await call('POST', '/api/v1/admin/tenants/acme/api-keys', ADMIN, { name: 'temp' })).json()) as { id: string; key: string };
      expect((await call('GET', '/api/v1/meters', extra.key)).status).toBe(200);
      expect((await call('DELETE', `/api/v1/admin/api-keys/${extra.id}`, ADMIN)).status).toBe(204);
      expect((await call('GET', '/api/v1/meters', extra.key)).status).toBe(401);
      expect((await call('DELETE', `/api/v1/admin/api-keys/${extra.id}`, ADMIN)).status).toBe(404);
    });

    it('guards the admin API with the admin token and lists keys masked', async () => {
      expect((await call('GET', '/api/v1/admin/tenants', keys.acme.key)).status).toBe(401);
      const list = (await (await call('GET', '/api/v1/admin/tenants/acme/api-keys', ADMIN)).json()) as Array<{ masked: string }>;
      expect(list.length).toBeGreaterThan(0);
      for (const k of list) {
        expect(k.masked).toMatch(/^tly_.{4}…$/);
        expect(JSON.stringify(k)).not.toContain(keys.acme.key);
      }
      const stored = await suite.query<{ key_hash: string }>(`SELECT key_hash FROM "${suite.schema('ingestion')}".api_keys`);
      expect(stored.map((r) => r.key_hash)).not.toContain(keys.acme.key);
    });
  });

  describe('POST /api/v1/events rejects bad input with the exact status and field', () => {
    const old = new Date(Date.now() - 72 * 3_600_000).toISOString();
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    it.each([
      ['body not JSON', '{"specversion":', 'application/cloudevents+json', 400, ''],
      ['missing id', event({ id: undefined }), undefined, 400, '/id'],
      ['empty id', event({ id: '' }), undefined, 400, '/id'],
      ['missing source', event({ source: undefined }), undefined, 400, '/source'],
      ['missing type', event({ type: undefined }), undefined, 400, '/type'],
      ['missing subject', event({ subject: undefined }), undefined, 400, '/subject'],
      ['bad specversion', event({ specversion: '0.3' }), undefined, 400, '/specversion'],
      ['time unparseable', event({ time: 'yesterday' }), undefined, 400, '/time'],
      ['time too far in the future', event({ time: future }), undefined, 400, '/time'],
      ['time older than the maximum lateness', event({ time: old }), undefined, 400, '/time'],
      ['data not an object', event({ data: 'five' }), undefined, 400, '/data'],
      ['value property missing for a SUM meter', event({ data: { other: 1 } }), undefined, 400, '/data'],
      ['value property not a number for a SUM meter', event({ data: { calls: 'many' } }), undefined, 400, '/data'],
      ['another tenant in the body', event({ tenant: 'globex' }), undefined, 400, '/tenant'],
      ['a batch with a duplicate id+source', [event({ id: 'same' }), event({ id: 'same' })], 'application/cloudevents-batch+json', 400, '/1/id'],
      ['a bad field in a batch names its index', [event(), event({ time: 'nope' })], 'application/cloudevents-batch+json', 400, '/1/time'],
      ['an event over the size limit', event({ data: { calls: 1, pad: 'x'.repeat(3000) } }), undefined, 413, null],
    ])('%s', async (_name, body, contentType, status, pointer) => {
      const res = await postEvents(body, 'acme', contentType ?? 'application/cloudevents+json');
      expect(res.status).toBe(status);
      const p = await problemOf(res);
      expect(p.status).toBe(status);
      if (pointer !== null) expect(p.errors?.map((e) => e.pointer)).toContain(pointer);
    });

    it('a wrong content type is 415', async () => {
      const res = await postEvents(JSON.stringify(event()), 'acme', 'text/plain');
      expect(res.status).toBe(415);
      expect((await problemOf(res)).detail).toMatch(/text\/plain/);
    });

    it('a request over the batch byte limit is 413', async () => {
      const batch = Array.from({ length: 60 }, () => event({ data: { calls: 1, pad: 'y'.repeat(1500) } }));
      expect((await postEvents(batch, 'acme', 'application/cloudevents-batch+json')).status).toBe(413);
    });

    it('too many events for the tenant is 429 with Retry-After', async () => {
      const batch = Array.from({ length: 201 }, () => event());
      const res = await postEvents(batch, 'globex', 'application/cloudevents-batch+json');
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });
  });

  it('accepts good events (single and batch) and publishes them normalized to usage.events.v1, stamped with the key\'s tenant', async () => {
    const single = event({ id: 'good-1', data: { calls: 3 } });
    expect((await postEvents(single)).status).toBe(202);
    const batch = [event({ id: 'good-2', subject: 'customer-2' }), event({ id: 'good-3', time: undefined })];
    const res = await postEvents(batch, 'acme', 'application/cloudevents-batch+json');
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2 });
    const published = await expectEventually(() => {
      const list = collector.on<{ id: string; tenant: string; subject: string; time: string; readings: unknown[] }>(TOPICS.usageEvents).filter((m) => m.value.id.startsWith('good-'));
      expect(list.map((m) => m.value.id).sort()).toEqual(['good-1', 'good-2', 'good-3']);
      return list;
    });
    const first = published.find((m) => m.value.id === 'good-1')!;
    expect(first.key).toBe('acme:customer-1');
    expect(first.headers[HEADERS.tenant]).toBe('acme');
    expect(first.value.readings).toEqual([
      { meter: 'api-calls', aggregation: 'SUM', value: '3', groupBy: {} },
      { meter: 'requests', aggregation: 'COUNT', value: null, groupBy: {} },
    ]);
    expect(published.find((m) => m.value.id === 'good-2')!.key).toBe('acme:customer-2');
    expect(Date.parse(published.find((m) => m.value.id === 'good-3')!.value.time)).not.toBeNaN();
  });

  it('isolates tenants: another tenant\'s key sees none of its meters and its events carry its own tenant', async () => {
    expect(await (await call('GET', '/api/v1/meters', keys.globex.key)).json()).toEqual([]);
    expect((await call('GET', '/api/v1/meters/api-calls', keys.globex.key)).status).toBe(404);
    expect((await call('DELETE', '/api/v1/meters/api-calls', keys.globex.key)).status).toBe(404);
    expect((await call('GET', '/api/v1/meters/api-calls', keys.acme.key)).status).toBe(200);
    expect((await postEvents(event({ id: 'globex-1' }), 'globex')).status).toBe(202);
    const m = await expectEventually(() => {
      const found = collector.on<{ id: string; tenant: string; readings: unknown[] }>(TOPICS.usageEvents).find((x) => x.value.id === 'globex-1');
      expect(found).toBeDefined();
      return found!;
    });
    expect(m.key).toBe('globex:customer-1');
    expect(m.value.tenant).toBe('globex');
    // acme's meters never apply to globex's events.
    expect(m.value.readings).toEqual([]);
  });

  it('validates meters and publishes changes to catalog.meters.v1', async () => {
    const bad = await call('POST', '/api/v1/meters', keys.acme.key, { slug: 'Bad Slug', eventType: 'x', aggregation: 'COUNT', valueProperty: '$.v' });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors?.map((e) => e.pointer).sort()).toEqual(['/slug', '/valueProperty']);
    expect((await call('POST', '/api/v1/meters', keys.acme.key, { slug: 'api-calls', eventType: 'api.call', aggregation: 'COUNT' })).status).toBe(409);
    expect((await call('PUT', '/api/v1/meters/storage', keys.acme.key, { eventType: 'storage.sample', aggregation: 'MAX', valueProperty: '$.gb' })).status).toBe(200);
    expect((await call('DELETE', '/api/v1/meters/storage', keys.acme.key)).status).toBe(204);
    await expectEventually(() => {
      const storage = collector.on<{ slug: string; deleted: boolean }>(TOPICS.catalogMeters).filter((m) => m.key === 'acme:storage');
      expect(storage.map((m) => m.value.deleted)).toEqual([false, true]);
    });
  });

  it('routes raw Kafka events: valid ones to usage.events.v1, bad ones to the DLQ with bytes, headers, reason and offset', async () => {
    await suite.produce(TOPICS.usageEventsRaw, [
      { key: 'customer-9', value: event({ id: 'raw-ok' }), headers: { [HEADERS.tenant]: 'acme' } },
      { key: 'customer-9', value: { ...event({ id: 'raw-tenant-in-payload' }), tenant: 'acme' } },
      { key: 'customer-9', value: 'garbage{', headers: { [HEADERS.tenant]: 'acme', 'x-origin': 'test' } },
      { key: 'customer-9', value: event({ id: 'raw-no-value', data: {} }), headers: { [HEADERS.tenant]: 'acme' } },
      { key: 'customer-9', value: event({ id: 'raw-no-tenant' }) },
    ]);
    await expectEventually(() => {
      const ids = collector.on<{ id: string }>(TOPICS.usageEvents).map((m) => m.value.id);
      expect(ids).toEqual(expect.arrayContaining(['raw-ok', 'raw-tenant-in-payload']));
      expect(collector.on(dlqTopicFor(TOPICS.usageEventsRaw))).toHaveLength(3);
    });
    const dlq = collector.on<{ reason: string; value: string; headers: Record<string, string>; source: { topic: string; offset: string } }>(TOPICS.usageEventsDlq);
    const garbage = dlq.find((m) => m.value.value === 'garbage{')!;
    expect(garbage.value.reason).toMatch(/^\(value\): is not valid JSON/);
    expect(garbage.value.headers['x-origin']).toBe('test');
    expect(garbage.value.source).toMatchObject({ topic: TOPICS.usageEventsRaw, offset: expect.any(String) });
    expect(dlq.map((m) => m.value.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^data: meter "api-calls" needs a number/), expect.stringMatching(/^tenant: missing/)]),
    );
    expect(collector.on<{ id: string }>(TOPICS.usageEvents).map((m) => m.value.id)).not.toContain('raw-no-value');
  });
});
