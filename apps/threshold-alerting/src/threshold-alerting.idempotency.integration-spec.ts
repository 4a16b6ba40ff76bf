import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { EntitlementProjection, type EntitlementCheck } from './entitlements/entitlement-projection';
import { thresholdAlertingService } from './threshold-alerting.service';

const TENANT = 'acme';
const KEY = 'key-alerting-idempotency';

/** Each alert exactly once: the same aggregate twice, a batch rolled back after its handler ran, and across a restart. */
describe('threshold-alerting idempotency (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let collector: TopicCollector;
  let service: ServiceApp | undefined;
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
  let failNextAggregateBatch = false;
  /** What the in-memory check answered inside the failing transaction, after its handler ran. */
  let seenInsideRolledBackBatch: EntitlementCheck | null | undefined;

  const subscription = () => ({
    key: subscriptionKey(TENANT, 'c-i', 'sub-i'),
    value: {
      eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer: 'c-i', subscriptionId: 'sub-i', plan: 'pro', status: 'active', periodStart, periodEnd,
      entitlements: [{ meter: 'seats', included: '10', thresholds: ['33.3', 100], hardLimit: true, alerts: { absolute: ['12'] } }],
    } satisfies SubscriptionChanged,
  });
  const usage = (value: string, version: number) => ({
    key: customerMeterKey(TENANT, 'c-i', 'seats'),
    value: {
      eventId: `c-i:seats:${version}`, occurredAt: new Date().toISOString(), tenant: TENANT, customer: 'c-i', meter: 'seats', windowKind: 'PERIOD',
      windowStart: periodStart, windowEnd: periodEnd, value, eventCount: version, lastEventTime: new Date().toISOString(), version,
    } satisfies UsageAggregate,
  });
  const alerts = () => collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).filter((m) => m.value.customer === 'c-i').map((m) => m.value);
  const start = async (): Promise<{ app: ServiceApp; base: string }> => {
    const app = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService), {
      hooks: {
        beforeCommit: (info) => {
          if (info.topic !== TOPICS.usageAggregates || !failNextAggregateBatch) return;
          failNextAggregateBatch = false;
          seenInsideRolledBackBatch = app.app.get(EntitlementProjection).check(TENANT, 'c-i', 'seats');
          throw new Error('injected failure after the handler, before the commit');
        },
      },
    });
    await app.app.listen(0, '127.0.0.1');
    return { app, base: `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}` };
  };
  const check = async (base: string) => (await (await fetch(`${base}/api/v1/entitlements/c-i/seats`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as EntitlementCheck;
  const settle = () => new Promise((r) => setTimeout(r, 1500));

  beforeAll(async () => {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, keyId: randomUUID(), keyHash: hashApiKey(KEY), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    collector = await suite.collect([TOPICS.alertsUsageThreshold]);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('fires once through a rolled-back batch, duplicates and a restart; the check shows only committed state and is rebuilt at start', async () => {
    let running = await start();
    service = running.app;
    await suite.produce(TOPICS.billingSubscriptions, [subscription()]);
    await suite.produce(TOPICS.usageAggregates, [usage('2', 1)]);
    await expectEventually(async () => expect(await check(running.base)).toMatchObject({ usage: '2', included: '10' }));

    // The batch applying 3.33 is rolled back once after its handler ran: the check must not have seen it then.
    failNextAggregateBatch = true;
    await suite.produce(TOPICS.usageAggregates, [usage('3.33', 2), usage('3.33', 2)]);
    await expectEventually(() => expect(alerts().map((a) => a.threshold)).toEqual(['33.3']));
    expect(failNextAggregateBatch).toBe(false);
    expect(seenInsideRolledBackBatch).toMatchObject({ usage: '2' });
    expect(await check(running.base)).toMatchObject({ usage: '3.33', hasAccess: true });

    // The same aggregate again, and a stale one: nothing new.
    await suite.produce(TOPICS.usageAggregates, [usage('3.33', 2), usage('2', 1)]);
    await settle();
    expect(alerts()).toHaveLength(1);

    // Restart: the projection comes back from Postgres before any message; everything delivered again fires nothing.
    await running.app.app.close();
    running = await start();
    service = running.app;
    expect(await check(running.base)).toMatchObject({ usage: '3.33', included: '10', hasAccess: true });
    await suite.produce(TOPICS.billingSubscriptions, [subscription()]);
    await suite.produce(TOPICS.usageAggregates, [usage('2', 1), usage('3.33', 2), usage('3.33', 2)]);
    await settle();
    expect(alerts()).toHaveLength(1);

    // The next crossing after the restart fires once: the hard limit (100 %) and the absolute 12.
    await suite.produce(TOPICS.usageAggregates, [usage('12', 3), usage('12', 3)]);
    await expectEventually(() => expect(alerts().map((a) => [a.kind, a.threshold]).sort()).toEqual([['absolute', '12'], ['hard_limit', '100'], ['soft', '33.3']]));
    expect(await check(running.base)).toMatchObject({ usage: '12', hasAccess: false, remaining: '0' });
    await settle();
    expect(alerts()).toHaveLength(3);
    expect(new Set(alerts().map((a) => a.eventId)).size).toBe(3);
  });
});
