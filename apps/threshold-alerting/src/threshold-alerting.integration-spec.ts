import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { customerMeterKey, planKey, subscriptionKey, TOPICS, type PlanChanged, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import type { EntitlementCheck } from './entitlements/entitlement-check.controller';
import { thresholdAlertingService } from './threshold-alerting.service';

const TENANT = 'acme';
const KEY = 'key-alerting';

describe('threshold-alerting service (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let collector: TopicCollector;
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();

  const subscription = (customer: string, subscriptionId: string, entitlements: SubscriptionChanged['entitlements'], status: SubscriptionChanged['status'] = 'active') => ({
    key: subscriptionKey(TENANT, customer, subscriptionId),
    value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer, subscriptionId, plan: 'pro', status, periodStart, periodEnd, entitlements } satisfies SubscriptionChanged,
  });
  const usage = (customer: string, meter: string, value: string, version: number) => ({
    key: customerMeterKey(TENANT, customer, meter),
    value: {
      eventId: `${customer}:${meter}:${version}`, occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter, windowKind: 'PERIOD',
      windowStart: periodStart, windowEnd: periodEnd, value, eventCount: version, lastEventTime: new Date().toISOString(), version,
    } satisfies UsageAggregate,
  });
  const alertsFor = (customer: string) => collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).filter((m) => m.value.customer === customer);
  const check = async (customer: string, meter: string): Promise<{ status: number; body: EntitlementCheck }> => {
    const res = await fetch(`${base}/api/v1/entitlements/${customer}/${meter}`, { headers: { authorization: `Bearer ${KEY}` } });
    return { status: res.status, body: (await res.json()) as EntitlementCheck };
  };

  beforeAll(async () => {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, keyId: randomUUID(), keyHash: hashApiKey(KEY), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService));
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    collector = await suite.collect([TOPICS.alertsUsageThreshold]);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('fires each threshold once per customer, meter and period — through redelivered and out-of-order aggregates — and denies use at a hard limit', async () => {
    await suite.produce(TOPICS.billingSubscriptions, [subscription('c-1', 'sub-1', [{ meter: 'api-calls', included: '1000', thresholds: [50, 75, 90, 100], hardLimit: true }])]);
    // Entitlements and usage arrive on different topics, in either order; out-of-order versions are ignored.
    await suite.produce(TOPICS.usageAggregates, [usage('c-1', 'api-calls', '400', 1), usage('c-1', 'api-calls', '800', 3), usage('c-1', 'api-calls', '600', 2)]);
    await expectEventually(() => expect(alertsFor('c-1').map((m) => m.value.thresholdPercent ?? 0).sort((a, b) => a - b)).toEqual([50, 75]));
    await expectEventually(async () => expect((await check('c-1', 'api-calls')).body).toMatchObject({ allowed: true, usage: '800', remaining: '200' }));

    // A redelivered version and a stale one change nothing; the next version crosses 90 % and the hard limit.
    await suite.produce(TOPICS.usageAggregates, [usage('c-1', 'api-calls', '800', 3), usage('c-1', 'api-calls', '500', 2), usage('c-1', 'api-calls', '1000', 4)]);
    await expectEventually(() => expect(alertsFor('c-1')).toHaveLength(4));
    // The check flips in the same batch as the crossing: it is applied (after commit) before the relay publishes the alert.
    expect((await check('c-1', 'api-calls')).body).toMatchObject({ hasAccess: false, allowed: false, usage: '1000', remaining: '0' });
    await suite.produce(TOPICS.usageAggregates, [usage('c-1', 'api-calls', '1000', 4), usage('c-1', 'api-calls', '1200', 5)]);
    await expectEventually(async () => expect((await check('c-1', 'api-calls')).body).toMatchObject({ allowed: false, usage: '1200', remaining: '0', hardLimit: true }));
    await new Promise((r) => setTimeout(r, 1000));
    const alerts = alertsFor('c-1').map((m) => m.value);
    expect(alerts.map((a) => [a.thresholdPercent, a.kind]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([[50, 'soft'], [75, 'soft'], [90, 'soft'], [100, 'hard_limit']]);
    // One event id per alert, deterministic from what it is about.
    expect(new Set(alerts.map((a) => a.eventId)).size).toBe(4);
    expect(alerts.every((a) => a.periodStart === periodStart && a.included === '1000')).toBe(true);
  });

  it("keeps the entitlements of each of a customer's subscriptions apart; canceling one drops only its meters", async () => {
    await suite.produce(TOPICS.billingSubscriptions, [
      subscription('c-2', 'sub-a', [{ meter: 'api-calls', included: '100', thresholds: [100], hardLimit: false }]),
      subscription('c-2', 'sub-b', [{ meter: 'storage', included: '10', thresholds: [50], hardLimit: true }]),
    ]);
    await suite.produce(TOPICS.usageAggregates, [usage('c-2', 'api-calls', '150', 1), usage('c-2', 'storage', '6', 1)]);
    await expectEventually(() =>
      expect(alertsFor('c-2').map((m) => [m.value.meter, m.value.thresholdPercent, m.value.kind]).sort()).toEqual([['api-calls', 100, 'overage'], ['storage', 50, 'soft']]),
    );
    // Over 100 % without a hard limit: allowed (an overage is billed, not refused).
    expect((await check('c-2', 'api-calls')).body).toMatchObject({ allowed: true, usage: '150', remaining: '0', hardLimit: false });

    // Canceling sub-a drops its meter's limit only (its usage is still answered, without a limit); sub-b's storage entitlement stays as it was.
    await suite.produce(TOPICS.billingSubscriptions, [subscription('c-2', 'sub-a', [], 'canceled')]);
    await expectEventually(async () => expect((await check('c-2', 'api-calls')).body).toMatchObject({ hasAccess: true, usage: '150', included: null, remaining: null }));
    expect((await check('c-2', 'storage')).body).toMatchObject({ included: '10', usage: '6', hardLimit: true, allowed: true });
  });

  it('takes a batch in which two subscriptions list the same meter (the later wins) instead of failing it forever', async () => {
    const first = subscription('c-3', 'sub-x', [{ meter: 'api-calls', included: '100', thresholds: [50], hardLimit: false }]);
    const second = subscription('c-3', 'sub-y', [{ meter: 'api-calls', included: '200', thresholds: [50], hardLimit: true }]);
    // One Kafka key, so one partition and (almost surely) one batch.
    await suite.produce(TOPICS.billingSubscriptions, [first, { ...second, key: first.key }]);
    await suite.produce(TOPICS.usageAggregates, [usage('c-3', 'api-calls', '120', 1)]);
    await expectEventually(async () => expect((await check('c-3', 'api-calls')).body).toMatchObject({ included: '200', hardLimit: true, usage: '120' }));
    await expectEventually(() => expect(alertsFor('c-3').map((m) => [m.value.thresholdPercent, m.value.included])).toEqual([[50, '200']]));
  });

  it('fires exact decimal, absolute, spend (priced with the plan), step and overage-cost alerts, each once', async () => {
    await suite.produce(TOPICS.billingSubscriptions, [
      {
        ...subscription('c-4', 'sub-4', [
          {
            meter: 'api-calls', included: '1000', thresholds: ['33.3', 100], hardLimit: false,
            alerts: { absolute: ['1500'], spend: ['5'], stepUnits: '500' }, charge: { model: 'standard', properties: { amount: '0.01' } },
          },
        ]),
      },
    ].map((m) => ({ ...m, value: { ...m.value, currency: 'EUR' } })));
    await suite.produce(TOPICS.usageAggregates, [usage('c-4', 'api-calls', '332.99', 1)]);
    await expectEventually(async () => expect((await check('c-4', 'api-calls')).body).toMatchObject({ usage: '332.99' }));
    expect(alertsFor('c-4')).toEqual([]);
    await suite.produce(TOPICS.usageAggregates, [usage('c-4', 'api-calls', '333', 2), usage('c-4', 'api-calls', '333', 2)]);
    await expectEventually(() => expect(alertsFor('c-4').map((m) => [m.value.kind, m.value.threshold, m.value.thresholdUnit])).toEqual([['soft', '33.3', 'percent']]));
    expect(alertsFor('c-4')[0].value).toMatchObject({ thresholdPercent: 33.3, generation: 1, costSoFar: '0', currency: 'EUR' });

    // 1600: 100 % (overage: 600 units × 0.01 = 6), the absolute 1500, the spend of 5; no step yet (the last fixed threshold is 1500).
    await suite.produce(TOPICS.usageAggregates, [usage('c-4', 'api-calls', '1600', 3)]);
    await expectEventually(() => expect(alertsFor('c-4')).toHaveLength(4));
    const byKind = new Map(alertsFor('c-4').map((m) => [m.value.kind, m.value]));
    expect(byKind.get('overage')).toMatchObject({ threshold: '100', thresholdUnit: 'percent', overageCost: '6', costSoFar: '6', usage: '1600' });
    expect(byKind.get('absolute')).toMatchObject({ threshold: '1500', thresholdUnit: 'units' });
    expect(byKind.get('spend')).toMatchObject({ threshold: '5', thresholdUnit: 'money', costSoFar: '6' });
    // 2000 is the first step of 500 after 1500.
    await suite.produce(TOPICS.usageAggregates, [usage('c-4', 'api-calls', '2000', 4), usage('c-4', 'api-calls', '2000', 4)]);
    await expectEventually(() => expect(alertsFor('c-4').filter((m) => m.value.kind === 'step').map((m) => m.value.threshold)).toEqual(['2000']));
    await new Promise((r) => setTimeout(r, 1000));
    expect(alertsFor('c-4')).toHaveLength(5);
    expect(new Set(alertsFor('c-4').map((m) => m.value.eventId)).size).toBe(5);
  });

  it('re-arms a threshold when the newest aggregate of a falling meter is below it (recovered), and fires it again once', async () => {
    await suite.produce(TOPICS.billingSubscriptions, [subscription('c-5', 'sub-5', [{ meter: 'seats', included: '10', thresholds: [80], hardLimit: true, alerts: { absolute: ['12'] } }])]);
    await suite.produce(TOPICS.usageAggregates, [usage('c-5', 'seats', '12', 1)]);
    await expectEventually(() => expect(alertsFor('c-5').map((m) => m.value.threshold).sort()).toEqual(['12', '80']));
    expect((await check('c-5', 'seats')).body).toMatchObject({ hasAccess: false, usage: '12' });
    // A higher version with a lower value is the truth (never added): both thresholds recover, access is back.
    await suite.produce(TOPICS.usageAggregates, [usage('c-5', 'seats', '7', 2)]);
    await expectEventually(() =>
      expect(alertsFor('c-5').filter((m) => m.value.kind === 'recovered').map((m) => [m.value.recoveredKind, m.value.threshold, m.value.generation]).sort()).toEqual([
        ['absolute', '12', 1],
        ['soft', '80', 1],
      ]),
    );
    expect((await check('c-5', 'seats')).body).toMatchObject({ hasAccess: true, usage: '7', remaining: '3' });
    // Reached again: fires again, generation 2, once (the redelivered version and a stale one change nothing).
    await suite.produce(TOPICS.usageAggregates, [usage('c-5', 'seats', '9', 3), usage('c-5', 'seats', '9', 3), usage('c-5', 'seats', '12', 1)]);
    await expectEventually(() => expect(alertsFor('c-5').filter((m) => m.value.generation === 2).map((m) => [m.value.kind, m.value.threshold])).toEqual([['soft', '80']]));
    await new Promise((r) => setTimeout(r, 1000));
    expect(alertsFor('c-5')).toHaveLength(5);
    expect(new Set(alertsFor('c-5').map((m) => m.value.eventId)).size).toBe(5);
  });

  it('answers meters without included units with their usage and no limit, and checks many pairs in one call', async () => {
    await suite.produce(TOPICS.billingSubscriptions, [subscription('c-6', 'sub-6', [{ meter: 'api-calls', included: '100', thresholds: [], hardLimit: true }])]);
    await suite.produce(TOPICS.usageAggregates, [usage('c-6', 'storage', '42.5', 1), usage('c-6', 'api-calls', '100', 1)]);
    await expectEventually(async () => expect((await check('c-6', 'storage')).body).toMatchObject({ hasAccess: true, usage: '42.5', included: null, remaining: null, hardLimit: false, periodStart }));
    const res = await fetch(`${base}/api/v1/entitlements/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ checks: [{ customer: 'c-6', meter: 'api-calls' }, { customer: 'c-6', meter: 'storage' }, { customer: 'c-6', meter: 'nothing' }, { customer: 'nobody', meter: 'storage' }] }),
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Array<Record<string, unknown>> };
    expect(results).toEqual([
      expect.objectContaining({ customer: 'c-6', meter: 'api-calls', found: true, hasAccess: false, usage: '100', included: '100' }),
      expect.objectContaining({ customer: 'c-6', meter: 'storage', found: true, hasAccess: true, included: null }),
      { customer: 'c-6', meter: 'nothing', found: false },
      { customer: 'nobody', meter: 'storage', found: false },
    ]);
    // Bad pairs are named; a body cannot name a tenant (it comes from the key), so a `tenant` field is refused.
    const bad = await fetch(`${base}/api/v1/entitlements/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ checks: [{ customer: '', meter: 'x', tenant: 'other' }, 'nope'] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer).sort()).toEqual(['/checks/0', '/checks/0/customer', '/checks/1']);
    const tooMany = await fetch(`${base}/api/v1/entitlements/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ checks: Array.from({ length: 1001 }, () => ({ customer: 'c', meter: 'm' })) }),
    });
    expect(tooMany.status).toBe(400);
    expect((await fetch(`${base}/api/v1/entitlements/check`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });
  it('keeps the highest version of each plan from billing.plans.v1, whatever order and repeats it arrives in', async () => {
    const plan = (code: string, version: number, baseFee: string): { key: string; value: PlanChanged } => ({
      key: planKey(TENANT, code),
      value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, planCode: code, version, currency: 'EUR', interval: 'monthly', baseFee, charges: [] },
    });
    const stored = async () =>
      suite.query<{ plan_code: string; version: number; base_fee: string }>(
        `SELECT plan_code, version, base_fee::text FROM "${suite.schema('threshold-alerting')}".plans WHERE tenant = $1 AND plan_code LIKE 'ooo-%' ORDER BY plan_code`,
        [TENANT],
      );
    // One batch: newest first, then older versions and a repeat of the newest; another plan only in an old version.
    await suite.produce(TOPICS.billingPlans, [plan('ooo-a', 3, '30'), plan('ooo-a', 1, '10'), plan('ooo-a', 2, '20'), plan('ooo-a', 3, '30'), plan('ooo-b', 1, '5')]);
    await expectEventually(async () => expect(await stored()).toEqual([{ plan_code: 'ooo-a', version: 3, base_fee: '30' }, { plan_code: 'ooo-b', version: 1, base_fee: '5' }]));
    // A later batch with an older version changes nothing; a newer one replaces.
    await suite.produce(TOPICS.billingPlans, [plan('ooo-a', 2, '999'), plan('ooo-b', 2, '7')]);
    // Both consumed (they may sit on different partitions) before the state is judged.
    await expectEventually(async () => {
      const [row] = await suite.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0)::text AS n FROM "${suite.schema('threshold-alerting')}".consumer_offsets WHERE topic = $1`, [suite.topic(TOPICS.billingPlans)]);
      expect(Number(row.n)).toBe(7);
    });
    expect(await stored()).toEqual([{ plan_code: 'ooo-a', version: 3, base_fee: '30' }, { plan_code: 'ooo-b', version: 2, base_fee: '7' }]);
  });
});
