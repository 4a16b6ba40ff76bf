import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { thresholdAlertingService } from '../threshold-alerting.service';
import { EntitlementCheckController } from './entitlement-check.controller';
import { EntitlementProjection } from './entitlement-projection';

/**
 * The fast path (EntitlementCheckFastPath, mounted before Nest's router) against the controller it stands in
 * for: same bodies byte for byte, same problems, headers, tenant scoping and metrics labels.
 */
describe('entitlement check fast path (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  const keys = { acme: 'key-fast-acme', other: 'key-fast-other', busy: 'key-fast-busy' };
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
  // Names JSON must escape (quote, backslash, control and line-separator characters), non-ASCII, spaces.
  const ODD = ['c-plain', 'c "quoted" \\ back', 'kündé 客户', 'line\u2028sep\ttab', 'a b'];

  const subscription = (customer: string, entitlements: SubscriptionChanged['entitlements']) => ({
    key: subscriptionKey('acme', customer, 'sub'),
    value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer, subscriptionId: 'sub', plan: 'pro', status: 'active', periodStart, periodEnd, entitlements } satisfies SubscriptionChanged,
  });
  const usage = (customer: string, meter: string, value: string) => ({
    key: customerMeterKey('acme', customer, meter),
    value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer, meter, windowKind: 'PERIOD', windowStart: periodStart, windowEnd: periodEnd,
      value, eventCount: 1, lastEventTime: new Date().toISOString(), version: 1 } satisfies UsageAggregate,
  });
  const get = (customer: string, meter: string, key: string | null = keys.acme) =>
    fetch(`${base}/api/v1/entitlements/${encodeURIComponent(customer)}/${encodeURIComponent(meter)}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  const post = (body: unknown, key: string | null = keys.acme) =>
    fetch(`${base}/api/v1/entitlements/check`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });
  /** The projection moves with the clock (run-rate): compare answers made at different instants without it. */
  const withoutProjected = (text: string) => text.replace(/"projected":("[^"]*"|null)/g, '"projected":"*"');

  beforeAll(async () => {
    await suite.createTopics();
    for (const [tenant, key] of Object.entries(keys)) {
      const change: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant, keyId: randomUUID(), keyHash: hashApiKey(key), revoked: false };
      await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage(`k-${tenant}`, change)]);
    }
    service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService));
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    await suite.produce(TOPICS.billingSubscriptions, [
      ...ODD.map((c) => subscription(c, [{ meter: 'api-calls', included: '1000', thresholds: [50], hardLimit: true }])),
      subscription('c-limit', [{ meter: 'api-calls', included: '10', thresholds: [], hardLimit: true }]),
    ]);
    await suite.produce(TOPICS.usageAggregates, [...ODD.map((c, i) => usage(c, 'api-calls', String(100 * i + 0.5))), usage('c-limit', 'api-calls', '12'), usage('c-plain', 'storage', '42.25')]);
    await expectEventually(async () => expect((await get('c-limit', 'api-calls')).status).toBe(200));
    await expectEventually(async () => expect((await get('c-plain', 'storage')).status).toBe(200));
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('answers the single check with the bytes and headers the controller gives', async () => {
    const controller = service.app.get(EntitlementCheckController);
    for (const [customer, meter] of [...ODD.map((c) => [c, 'api-calls']), ['c-limit', 'api-calls'], ['c-plain', 'storage']]) {
      const res = await get(customer, meter);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('etag')).toMatch(/^W\/"/);
      const text = await res.text();
      expect(withoutProjected(text)).toBe(withoutProjected(JSON.stringify(await controller.check('acme', customer, meter))));
    }
    expect(await (await get('c-limit', 'api-calls')).json()).toMatchObject({ hasAccess: false, allowed: false, usage: '12', remaining: '0', hardLimit: true });
    // HEAD is served by the GET route, as before: the GET's status and headers, no body.
    const head = await fetch(`${base}/api/v1/entitlements/c-plain/storage`, { method: 'HEAD', headers: { authorization: `Bearer ${keys.acme}` } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100); // the GET body's length (its projection moves with the clock)
    expect(await head.text()).toBe('');
    expect((await fetch(`${base}/api/v1/entitlements/c-plain/nothing`, { method: 'HEAD', headers: { authorization: `Bearer ${keys.acme}` } })).status).toBe(404);
  });

  it('serializes every answer exactly as JSON.stringify of the check, at the same instant', () => {
    const projection = service.app.get(EntitlementProjection);
    const at = [Date.parse(periodStart) + 1000, Date.parse(periodStart) + 2 * 86_400_000 + 7, Date.parse(periodEnd) + 1, Date.now()];
    for (const nowMs of at) {
      for (const [customer, meter] of [...ODD.map((c) => [c, 'api-calls']), ['c-limit', 'api-calls'], ['c-plain', 'storage'], ['nobody', 'api-calls']]) {
        const check = projection.check('acme', customer, meter, nowMs);
        expect(projection.checkJson('acme', customer, meter, nowMs)).toBe(check ? JSON.stringify(check) : null);
        expect(projection.checkJson('acme', customer, meter, nowMs, ',"found":true')).toBe(check ? JSON.stringify({ ...check, found: true }) : null);
      }
    }
  });

  it("scopes by the key's tenant: another tenant's key sees 404 and found: false", async () => {
    const res = await get('c-plain', 'api-calls', keys.other);
    expect(res.status).toBe(404);
    const batch = await post({ checks: [{ customer: 'c-plain', meter: 'api-calls' }] }, keys.other);
    expect(await batch.json()).toEqual({ results: [{ customer: 'c-plain', meter: 'api-calls', found: false }] });
  });

  it('answers unknown pairs, missing and unknown keys with the same problem+json as before', async () => {
    const missing = await get('c "quoted" \\ back', 'nothing');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await missing.json()).toEqual({ status: 404, title: 'Not Found', detail: 'customer "c "quoted" \\ back" has neither an entitlement nor usage for meter "nothing"', type: 'about:blank' });
    for (const res of [await get('c-plain', 'api-calls', null), await get('c-plain', 'api-calls', 'no-such-key'), await post({ checks: [{ customer: 'c', meter: 'm' }] }, null)]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tally"');
      expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await res.json()).toMatchObject({ status: 401, title: 'Unauthorized', type: 'about:blank' });
    }
  });

  it('answers the batch check as the controller does, in order, with duplicates and 400s for bad bodies', async () => {
    const controller = service.app.get(EntitlementCheckController);
    const checks = [{ customer: 'c-limit', meter: 'api-calls' }, { customer: 'nobody', meter: 'x' }, ...ODD.map((c) => ({ customer: c, meter: 'api-calls' })), { customer: 'c-limit', meter: 'api-calls' }];
    const res = await post({ checks });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(withoutProjected(await res.text())).toBe(withoutProjected(JSON.stringify(await controller.checkMany('acme', { checks }))));
    for (const body of [{}, { checks: [] }, { checks: [{ customer: 'c', meter: 'm', tenant: 'other' }] }, { checks: Array.from({ length: 1001 }, () => ({ customer: 'c', meter: 'm' })) }, 'nope']) {
      const bad = await post(body);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await bad.json()).toMatchObject({ status: 400, title: 'Bad Request', type: 'about:blank' });
    }
  });

  it("applies the tenant's read rate limit to the single check (429 with Retry-After), not to the batch", async () => {
    const answers = await Promise.all(Array.from({ length: 80 }, () => get('c-plain', 'api-calls', keys.busy)));
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((r) => r.status === 404).length).toBeGreaterThan(0); // the busy tenant has no customers
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited[0].json()).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect((await post({ checks: [{ customer: 'c', meter: 'm' }] }, keys.busy)).status).toBe(200);
  });

  it('counts the checks in the HTTP metrics by the route templates', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const count = (route: string, method: string, status: string) =>
      metrics.split('\n').some((l) => l.startsWith('tally_http_server_request_duration_seconds_count{') && l.includes(`route="${route}"`) && l.includes(`method="${method}"`) && l.includes(`status="${status}"`) && !l.endsWith(' 0'));
    expect(count('/api/v1/entitlements/:customer/:meter', 'GET', '200')).toBe(true);
    expect(count('/api/v1/entitlements/:customer/:meter', 'GET', '404')).toBe(true);
    expect(count('/api/v1/entitlements/:customer/:meter', 'GET', '401')).toBe(true);
    expect(count('/api/v1/entitlements/check', 'POST', '200')).toBe(true);
    expect(count('/api/v1/entitlements/check', 'POST', '400')).toBe(true);
  });
});
