import { randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
import {
  customerKey,
  customerMeterKey,
  subscriptionKey,
  TOPICS,
  type ApiKeyChanged,
  type ExpansionSignal,
  type SubscriptionChanged,
  type UsageAggregate,
  type UsageThresholdAlert,
} from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { billingService } from '../../apps/billing/src/billing.service';
import { CatalogRepository } from '../../apps/billing/src/catalog/catalog.repository';
import { healthScoringService } from '../../apps/health-scoring/src/health-scoring.service';
import { thresholdAlertingService } from '../../apps/threshold-alerting/src/threshold-alerting.service';

const TENANT = 'acme';
const DAY = 86_400_000;

/**
 * A growing customer, ten days into a 30-day period on the starter plan: billing publishes the tenant's plans
 * (billing.plans.v1 through its outbox), DAY and PERIOD aggregates arrive, threshold-alerting forecasts the
 * period end above the included units while usage is still below 90 % and fires one forecast alert with the
 * projected usage and the cheaper higher plan; health-scoring turns it into one expansion signal.
 */
describe('forecast alerts with an upgrade recommendation (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const alertingSchema = suite.schema('threshold-alerting');
  let alerting: ServiceApp;
  let billing: ServiceApp;
  let health: ServiceApp;
  let collector: TopicCollector;

  const today = Math.floor(Date.now() / DAY) * DAY;
  const periodStart = new Date(today - 10 * DAY).toISOString();
  const periodEnd = new Date(today + 20 * DAY).toISOString();
  // Ten complete days growing by 6 a day (20 … 74: 470), and 15 so far today: 485 of 1000 included.
  const dayValues = Array.from({ length: 10 }, (_, d) => 20 + 6 * d);
  const usageSoFar = String(dayValues.reduce((a, v) => a + v, 0) + 15);

  const subscription = (customer: string): { key: string; value: SubscriptionChanged } => ({
    key: subscriptionKey(TENANT, customer, `sub-${customer}`),
    value: {
      eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer, subscriptionId: `sub-${customer}`, plan: 'starter', planVersion: 1,
      status: 'active', currency: 'EUR', periodStart, periodEnd,
      entitlements: [{ meter: 'tokens', included: '1000', thresholds: [50, 75, 90, 100], hardLimit: false, charge: { model: 'standard', properties: { amount: '0.05' } } }],
    },
  });
  const aggregate = (customer: string, windowKind: 'DAY' | 'PERIOD', start: string, end: string, value: string, version: number) => ({
    key: customerMeterKey(TENANT, customer, 'tokens'),
    value: {
      eventId: `${customer}:${windowKind}:${start}:${version}`, occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter: 'tokens', windowKind,
      windowStart: start, windowEnd: end, value, eventCount: version, lastEventTime: new Date().toISOString(), version,
    } satisfies UsageAggregate,
  });
  const aggregates = (customer: string) => [
    ...dayValues.map((v, d) => aggregate(customer, 'DAY', new Date(today - (10 - d) * DAY).toISOString(), new Date(today - (9 - d) * DAY).toISOString(), String(v), 1)),
    aggregate(customer, 'DAY', new Date(today).toISOString(), new Date(today + DAY).toISOString(), '15', 1),
    aggregate(customer, 'PERIOD', periodStart, periodEnd, usageSoFar, 1),
  ];
  const alertsOf = (customer: string, kind: string) =>
    collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).filter((m) => m.value.customer === customer && m.value.kind === kind).map((m) => m.value);
  const expansionOf = (customer: string) => collector.on<ExpansionSignal>(TOPICS.customersExpansion).filter((m) => m.value.customer === customer).map((m) => m.value);
  /** Every usage aggregate produced so far consumed and committed by threshold-alerting, its outbox published. */
  const settled = (aggregatesProduced: number) =>
    expectEventually(async () => {
      const [row] = await suite.query<{ n: number }>(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${alertingSchema}".consumer_offsets WHERE topic = $1`, [
        suite.topic(TOPICS.usageAggregates),
      ]);
      expect(row.n).toBe(aggregatesProduced);
      const [pending] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${alertingSchema}".outbox WHERE published_at IS NULL`);
      expect(pending.n).toBe(0);
    });
  const startAlerting = () => createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService));

  beforeAll(async () => {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, keyId: randomUUID(), keyHash: hashApiKey('key-forecast'), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    collector = await suite.collect([TOPICS.alertsUsageThreshold, TOPICS.customersExpansion, TOPICS.billingPlans]);
    billing = await createServiceApp(billingService, suite.serviceConfig(billingService));
    health = await createServiceApp(healthScoringService, suite.serviceConfig(healthScoringService, { HEALTH_RESCORE_DEBOUNCE_MS: '600000' }));
    alerting = await startAlerting();
  });

  afterAll(async () => {
    await alerting?.app.close();
    await health?.app.close();
    await billing?.app.close();
    await suite.cleanup();
  });

  it('fires one forecast alert with the projected usage and the cheaper higher plan, never again on redelivery or after a restart; health-scoring signals it once', async () => {
    const catalog = billing.app.get(CatalogRepository);
    // Starter: 10 EUR, 1000 included, 0.05 above. Pro: 49 EUR, 10000 included. A cheaper plan in USD is no upgrade.
    await catalog.addPlanVersion(TENANT, {
      code: 'starter', name: 'Starter', interval: 'monthly', currency: 'EUR', baseFee: '10',
      charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0.05' }, includedUnits: '1000' }],
    });
    await catalog.addPlanVersion(TENANT, {
      code: 'pro', name: 'Pro', interval: 'monthly', currency: 'EUR', baseFee: '49',
      charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0.01' }, includedUnits: '10000' }],
    });
    await catalog.addPlanVersion(TENANT, {
      code: 'pro-usd', name: 'Pro (USD)', interval: 'monthly', currency: 'USD', baseFee: '20',
      charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0' } }],
    });
    await expectEventually(async () => {
      const plans = await suite.query<{ plan_code: string; version: number; base_fee: string }>(`SELECT plan_code, version, base_fee::text FROM "${alertingSchema}".plans ORDER BY plan_code`);
      expect(plans).toEqual([{ plan_code: 'pro', version: 1, base_fee: '49' }, { plan_code: 'pro-usd', version: 1, base_fee: '20' }, { plan_code: 'starter', version: 1, base_fee: '10' }]);
    });
    expect(collector.on(TOPICS.billingPlans).map((m) => m.key).sort()).toEqual(['acme:pro', 'acme:pro-usd', 'acme:starter']);

    await suite.produce(TOPICS.billingSubscriptions, [subscription('g-1')]);
    await expectEventually(async () => expect(await suite.query(`SELECT plan FROM "${alertingSchema}".entitlements WHERE customer = 'g-1'`)).toEqual([{ plan: 'starter' }]));
    await suite.produce(TOPICS.usageAggregates, aggregates('g-1'));
    let produced = aggregates('g-1').length;

    await expectEventually(() => expect(alertsOf('g-1', 'forecast')).toHaveLength(1));
    const [alert] = alertsOf('g-1', 'forecast');
    const projected = new Decimal(alert.projectedUsage!);
    expect(alert).toMatchObject({ usage: usageSoFar, included: '1000', threshold: '100', thresholdUnit: 'percent', generation: 1, periodStart, periodEnd });
    expect(alert.eventId).toBe(`${TENANT}:g-1:tokens:${periodStart}:forecast:100`);
    // Growing: above the included units, and above the plain run-rate (the trend carries the growth).
    expect(projected.gt(1000)).toBe(true);
    expect(projected.gt(alert.projected!)).toBe(true);
    // Starter over the projection: 10 + (projected − 1000) × 0.05; pro: its base fee (all included).
    const starterCost = projected.minus(1000).mul('0.05').plus(10);
    expect(alert.recommendation).toEqual({
      currentPlan: 'starter', plan: 'pro', currency: 'EUR', currentCost: starterCost.toFixed(), recommendedCost: '49', saving: starterCost.minus(49).toFixed(),
    });

    // The same aggregates again, then a restart with the same again and a newer PERIOD version still projecting above 100 %.
    await suite.produce(TOPICS.usageAggregates, aggregates('g-1'));
    produced += aggregates('g-1').length;
    await settled(produced);
    await alerting.app.close();
    alerting = await startAlerting();
    await suite.produce(TOPICS.usageAggregates, [...aggregates('g-1'), aggregate('g-1', 'PERIOD', periodStart, periodEnd, String(Number(usageSoFar) + 5), 2)]);
    produced += aggregates('g-1').length + 1;
    await settled(produced);
    expect(alertsOf('g-1', 'forecast')).toHaveLength(1);
    const [fired] = await suite.query<{ generation: number; kind: string }>(
      `SELECT generation, kind FROM "${alertingSchema}".fired_thresholds WHERE customer = 'g-1' AND threshold = 'forecast:100'`,
    );
    expect(fired).toEqual({ generation: 1, kind: 'forecast' });

    // Aggregation re-buckets the days lower: the forecast falls below 100 % and re-arms (silently); back up, it fires again.
    const lowered = [
      ...dayValues.map((_, d) => aggregate('g-1', 'DAY', new Date(today - (10 - d) * DAY).toISOString(), new Date(today - (9 - d) * DAY).toISOString(), '5', 2)),
      aggregate('g-1', 'PERIOD', periodStart, periodEnd, '55', 3),
    ];
    await suite.produce(TOPICS.usageAggregates, lowered);
    produced += lowered.length;
    await settled(produced);
    await expectEventually(async () =>
      expect(await suite.query(`SELECT generation, recovered_at IS NOT NULL AS rearmed FROM "${alertingSchema}".fired_thresholds WHERE customer = 'g-1' AND threshold = 'forecast:100'`)).toEqual([
        { generation: 1, rearmed: true },
      ]),
    );
    expect(alertsOf('g-1', 'forecast')).toHaveLength(1);
    expect(alertsOf('g-1', 'recovered')).toHaveLength(0);
    const raised = [
      ...dayValues.map((v, d) => aggregate('g-1', 'DAY', new Date(today - (10 - d) * DAY).toISOString(), new Date(today - (9 - d) * DAY).toISOString(), String(v), 3)),
      aggregate('g-1', 'PERIOD', periodStart, periodEnd, usageSoFar, 4),
    ];
    await suite.produce(TOPICS.usageAggregates, [...raised, ...raised]);
    produced += 2 * raised.length;
    await expectEventually(() => expect(alertsOf('g-1', 'forecast')).toHaveLength(2));
    await settled(produced);
    const second = alertsOf('g-1', 'forecast')[1];
    expect(second).toMatchObject({ generation: 2, eventId: `${TENANT}:g-1:tokens:${periodStart}:forecast:100:2`, recommendation: { plan: 'pro' } });

    // Over the included units: the overage alert carries the recommendation too, the percent alerts below 100 % do not.
    await suite.produce(TOPICS.usageAggregates, [aggregate('g-1', 'PERIOD', periodStart, periodEnd, '1200', 5)]);
    produced += 1;
    await expectEventually(() => expect(alertsOf('g-1', 'overage')).toHaveLength(1));
    await settled(produced);
    const [overage] = alertsOf('g-1', 'overage');
    expect(overage.recommendation).toMatchObject({ currentPlan: 'starter', plan: 'pro', recommendedCost: '49' });
    expect(new Decimal(overage.recommendation!.saving).gt(0)).toBe(true);
    expect(alertsOf('g-1', 'soft').map((a) => [a.thresholdPercent, a.recommendation])).toEqual([[50, undefined], [75, undefined], [90, undefined]]);

    // health-scoring: one expansion signal for (customer, period, plan): for both generations, the overage, and when an alert comes again.
    await expectEventually(() => expect(expansionOf('g-1')).toHaveLength(1));
    await suite.produce(TOPICS.alertsUsageThreshold, [{ key: customerKey(TENANT, 'g-1'), value: alert }, { key: customerKey(TENANT, 'g-1'), value: { ...alert, eventId: `${alert.eventId}:again`, kind: 'overage' } }]);
    await expectEventually(() => expect(collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).some((m) => m.value.eventId.endsWith(':again'))).toBe(true));
    // health-scoring has consumed every alert on the topic.
    await expectEventually(async () => {
      const [row] = await suite.query<{ n: number }>(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${suite.schema('health-scoring')}".consumer_offsets WHERE topic = $1`, [
        suite.topic(TOPICS.alertsUsageThreshold),
      ]);
      expect(row.n).toBe(collector.on(TOPICS.alertsUsageThreshold).length);
    });
    await new Promise((r) => setTimeout(r, 1000));
    const signals = expansionOf('g-1');
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({
      signal: 'upgrade_recommended', tenant: TENANT, periodStart, recommendedPlan: 'pro', currency: 'EUR', saving: alert.recommendation!.saving,
      eventId: `${TENANT}:g-1:expansion:upgrade_recommended:${periodStart}:pro`,
    });
  });
});
