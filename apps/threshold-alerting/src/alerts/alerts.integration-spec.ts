import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { customerKey, customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { createServiceApp, encodeFeedCursor, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { thresholdAlertingService } from '../threshold-alerting.service';
import { AlertLogRetentionService } from './alert-log-retention.service';

const ACME = { tenant: 'acme', key: 'key-alerts-acme' };
const GLOBEX = { tenant: 'globex', key: 'key-alerts-globex' };

describe('alerts API (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  const now = new Date();
  // A period that began ten UTC days ago: a run-rate projection needs a day of it elapsed, which a calendar
  // month does not have on its first day.
  const periodStartMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 10);
  const periodStart = new Date(periodStartMs).toISOString();
  const periodEnd = new Date(periodStartMs + 30 * 86_400_000).toISOString();

  const get = async (key: string | null, path: string): Promise<{ status: number; body: { items: UsageThresholdAlert[]; nextCursor: string | null; errors?: Array<{ pointer: string }> } }> => {
    const res = await fetch(`${base}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, body: (await res.json()) as never };
  };
  /** An alert as threshold-alerting publishes it, at a chosen time (the log orders by it). */
  const alert = (tenant: string, customer: string, meter: string, kind: UsageThresholdAlert['kind'], threshold: string, occurredAt: string): { key: string; value: UsageThresholdAlert } => ({
    key: customerKey(tenant, customer),
    value: {
      eventId: `${tenant}:${customer}:${meter}:${periodStart}:${kind}:${threshold}`, occurredAt, tenant, customer, meter, periodStart, periodEnd, kind,
      threshold, thresholdUnit: 'percent', generation: 1, usage: threshold, included: '100', ...(kind === 'soft' ? { thresholdPercent: Number(threshold) } : {}),
    },
  });
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 10, 12, minute)).toISOString();

  beforeAll(async () => {
    await suite.createTopics();
    for (const t of [ACME, GLOBEX]) {
      const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: t.tenant, keyId: randomUUID(), keyHash: hashApiKey(t.key), revoked: false };
      await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage(t.tenant, key)]);
    }
    service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService));
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    await expectEventually(async () => expect((await get(ACME.key, '/api/v1/alerts')).status).toBe(200));
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('logs the alerts evaluation publishes, with their payload, and lists them to their tenant only', async () => {
    const subscription: SubscriptionChanged = {
      eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'live-1', subscriptionId: 'sub-1', plan: 'pro', status: 'active',
      periodStart, periodEnd, entitlements: [{ meter: 'api-calls', included: '1000', thresholds: [50, 80], hardLimit: false }],
    };
    await suite.produce(TOPICS.billingSubscriptions, [{ key: subscriptionKey(ACME.tenant, 'live-1', 'sub-1'), value: subscription }]);
    const usage: UsageAggregate = {
      eventId: 'live-1:1', occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'live-1', meter: 'api-calls', windowKind: 'PERIOD',
      windowStart: periodStart, windowEnd: periodEnd, value: '850', eventCount: 1, lastEventTime: new Date().toISOString(), version: 1,
    };
    await suite.produce(TOPICS.usageAggregates, [{ key: customerMeterKey(ACME.tenant, 'live-1', 'api-calls'), value: usage }]);
    await expectEventually(async () => expect((await get(ACME.key, '/api/v1/alerts?customer=live-1')).body.items.map((a) => a.threshold).sort()).toEqual(['50', '80']));
    const [first] = (await get(ACME.key, '/api/v1/alerts?customer=live-1')).body.items;
    expect(first).toMatchObject({ tenant: ACME.tenant, customer: 'live-1', meter: 'api-calls', kind: 'soft', usage: '850', included: '1000', periodStart });
    expect(first.projected).toBeDefined();
    // Another tenant sees none of it, even naming the customer.
    expect((await get(GLOBEX.key, '/api/v1/alerts?customer=live-1')).body.items).toEqual([]);
  });

  it('is newest first, filters by customer, meter, kind and since, and keeps a redelivered alert once', async () => {
    const seeded = [
      alert(ACME.tenant, 'f-1', 'api-calls', 'soft', '50', at(1)),
      alert(ACME.tenant, 'f-1', 'api-calls', 'overage', '100', at(3)),
      alert(ACME.tenant, 'f-1', 'storage', 'soft', '75', at(2)),
      alert(ACME.tenant, 'f-2', 'api-calls', 'soft', '50', at(4)),
      alert(GLOBEX.tenant, 'f-1', 'api-calls', 'soft', '90', at(5)),
    ];
    await suite.produce(TOPICS.alertsUsageThreshold, [...seeded, seeded[0], seeded[1]]);
    const since = `&since=${encodeURIComponent(at(0))}`;
    await expectEventually(async () => expect((await get(ACME.key, `/api/v1/alerts?customer=f-1${since}`)).body.items).toHaveLength(3));
    const f1 = (await get(ACME.key, `/api/v1/alerts?customer=f-1${since}`)).body.items;
    expect(f1.map((a) => [a.occurredAt, a.meter, a.kind])).toEqual([[at(3), 'api-calls', 'overage'], [at(2), 'storage', 'soft'], [at(1), 'api-calls', 'soft']]);
    expect((await get(ACME.key, `/api/v1/alerts?customer=f-1&meter=storage${since}`)).body.items.map((a) => a.threshold)).toEqual(['75']);
    expect((await get(ACME.key, `/api/v1/alerts?customer=f-1&kind=overage${since}`)).body.items.map((a) => a.threshold)).toEqual(['100']);
    expect((await get(ACME.key, `/api/v1/alerts?customer=f-1&since=${encodeURIComponent(at(2))}`)).body.items.map((a) => a.occurredAt)).toEqual([at(3), at(2)]);
    // The other tenant's alert of a customer with the same id stays with that tenant.
    expect((await get(GLOBEX.key, `/api/v1/alerts?customer=f-1${since}`)).body.items.map((a) => [a.tenant, a.threshold])).toEqual([[GLOBEX.tenant, '90']]);
  });

  it('pages through alerts sharing one time without gaps or repeats', async () => {
    const same = at(30);
    const many = Array.from({ length: 7 }, (_, i) => alert(ACME.tenant, 'p-1', `m-${i}`, 'soft', '50', same));
    await suite.produce(TOPICS.alertsUsageThreshold, many);
    await expectEventually(async () => expect((await get(ACME.key, '/api/v1/alerts?customer=p-1&limit=500')).body.items).toHaveLength(7));
    const all = (await get(ACME.key, '/api/v1/alerts?customer=p-1&limit=500')).body.items.map((a) => a.eventId);
    const walked: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof get>> = await get(ACME.key, `/api/v1/alerts?customer=p-1&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      walked.push(...page.body.items.map((a) => a.eventId));
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(walked).toEqual(all);
    expect(new Set(walked).size).toBe(7);
    // A cursor is a position, never a key to other rows: used by another tenant it still reads that tenant's rows only.
    const firstPage = await get(ACME.key, '/api/v1/alerts?customer=p-1&limit=1');
    const other = await get(GLOBEX.key, `/api/v1/alerts?limit=500&cursor=${firstPage.body.nextCursor}`);
    expect(other.status).toBe(200);
    expect(other.body.items.every((a) => a.tenant === GLOBEX.tenant)).toBe(true);
  });

  it('retention deletes only alerts older than ALERT_LOG_RETENTION_DAYS (default 400), of every tenant, in bounded batches', async () => {
    const now = new Date('2025-07-06T00:00:00.000Z');
    const cutoff = now.getTime() - 400 * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const old = [
      alert(ACME.tenant, 'r-1', 'old-a', 'soft', '50', iso(cutoff - 1)),
      alert(ACME.tenant, 'r-1', 'old-b', 'soft', '50', iso(cutoff - 86_400_000)),
      alert(ACME.tenant, 'r-1', 'old-c', 'overage', '100', iso(cutoff - 3 * 365 * 86_400_000)),
      alert(ACME.tenant, 'r-2', 'old-d', 'soft', '50', iso(cutoff - 60_000)),
      alert(GLOBEX.tenant, 'r-1', 'old-e', 'soft', '50', iso(cutoff - 1000)),
    ];
    const kept = [
      alert(ACME.tenant, 'r-1', 'at-cutoff', 'soft', '50', iso(cutoff)),
      alert(ACME.tenant, 'r-1', 'newer', 'soft', '50', iso(cutoff + 1)),
      alert(GLOBEX.tenant, 'r-1', 'newer', 'soft', '50', iso(now.getTime())),
    ];
    await suite.produce(TOPICS.alertsUsageThreshold, [...old, ...kept]);
    const since = `&since=${encodeURIComponent('2000-01-01T00:00:00Z')}&limit=500`;
    const listed = async (key: string) => (await get(key, `/api/v1/alerts?customer=r-1${since}`)).body.items.map((a) => a.meter).sort();
    await expectEventually(async () => expect(await listed(ACME.key)).toEqual(['at-cutoff', 'newer', 'old-a', 'old-b', 'old-c']));
    await expectEventually(async () => expect(await listed(GLOBEX.key)).toEqual(['newer', 'old-e']));
    const table = `"${suite.schema(thresholdAlertingService.name)}".alert_log`;
    const [{ before }] = await suite.query<{ before: number }>(`SELECT count(*)::int AS before FROM ${table}`);

    // Batches of 2 for 5 old rows: 2 + 2 + 1, the short batch ends the pass.
    const pass = await service.app.get(AlertLogRetentionService).run(now, 2);
    expect(pass).toEqual({ cutoff: iso(cutoff), deleted: 5, batches: 3 });

    expect(await listed(ACME.key)).toEqual(['at-cutoff', 'newer']);
    expect(await listed(GLOBEX.key)).toEqual(['newer']);
    expect((await get(ACME.key, `/api/v1/alerts?customer=r-2${since}`)).body.items).toEqual([]);
    // Nothing else went: every row of the other tests is newer than the cut-off.
    const [{ after }] = await suite.query<{ after: number }>(`SELECT count(*)::int AS after FROM ${table}`);
    expect(after).toBe(before - 5);
    const [{ oldest }] = await suite.query<{ oldest: string }>(`SELECT min(occurred_at) AS oldest FROM ${table}`);
    expect(new Date(oldest).getTime()).toBe(cutoff);

    // A second pass finds nothing: one short batch.
    expect(await service.app.get(AlertLogRetentionService).run(now, 2)).toEqual({ cutoff: iso(cutoff), deleted: 0, batches: 1 });
    // An alert redelivered after its row was deleted comes back (same event id, a new row) and goes again next pass.
    await suite.produce(TOPICS.alertsUsageThreshold, [old[0]]);
    await expectEventually(async () => expect(await listed(ACME.key)).toContain('old-a'));
    expect(await service.app.get(AlertLogRetentionService).run(now)).toMatchObject({ deleted: 1, batches: 1 });
    expect(await listed(ACME.key)).toEqual(['at-cutoff', 'newer']);
  });

  it('has an index leading with occurred_at for the retention delete', async () => {
    const rows = await suite.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'alert_log'`, [suite.schema(thresholdAlertingService.name)]);
    expect(rows.some((r) => /\(occurred_at\)/.test(r.indexdef))).toBe(true);
  });

  it('refuses hostile parameters with a 400 naming the field, and callers without a valid key', async () => {
    const cases: Array<[string, string]> = [
      ['limit=0', '/limit'], ['limit=501', '/limit'], ['limit=1e2', '/limit'], ['kind=bogus', '/kind'], ['since=yesterday', '/since'],
      ['since=2026-01-01T00:00:00', '/since'], ['cursor=abc', '/cursor'], [`cursor=${Buffer.from("['x'; DROP TABLE alert_log]").toString('base64url')}`, '/cursor'],
      ['customer=a&customer=b', '/customer'], ['customer=', '/customer'], ['tenant=globex', '/tenant'],
      [`cursor=${encodeFeedCursor({ at: '2026-01-01T00:00:00.000000Z', id: '1' })}&limit=x`, '/limit'],
    ];
    for (const [query, pointer] of cases) {
      const res = await get(ACME.key, `/api/v1/alerts?${query}`);
      expect([query, res.status, res.body.errors?.[0]?.pointer]).toEqual([query, 400, pointer]);
    }
    expect((await get(null, '/api/v1/alerts')).status).toBe(401);
    expect((await get('not-a-key', '/api/v1/alerts')).status).toBe(401);
  });
});
