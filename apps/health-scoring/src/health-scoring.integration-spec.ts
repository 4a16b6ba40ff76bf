import { randomUUID } from 'node:crypto';
import {
  customerKey,
  customerMeterKey,
  TOPICS,
  type AccountStatusChanged,
  type ChurnRiskChanged,
  type CustomerHealth,
  type UsageAggregate,
  type UsageThresholdAlert,
} from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { healthScoringService } from './health-scoring.service';

const TENANT = 'acme';

describe('health-scoring service (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let collector: TopicCollector;
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
  const envelope = () => ({ eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT });

  const health = (customer: string) => collector.on<CustomerHealth>(TOPICS.customersHealth).filter((m) => m.value.customer === customer).map((m) => m.value);
  const risk = (customer: string) => collector.on<ChurnRiskChanged>(TOPICS.customersChurnRisk).filter((m) => m.value.customer === customer).map((m) => m.value);

  beforeAll(async () => {
    await suite.createTopics();
    service = await createServiceApp(healthScoringService, suite.serviceConfig(healthScoringService));
    collector = await suite.collect([TOPICS.customersHealth, TOPICS.customersChurnRisk]);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('scores usage, utilisation and payment standing, publishes score changes, and a churn-risk event with reasons when the band moves', async () => {
    const aggregate: UsageAggregate = {
      ...envelope(), customer: 'c-1', meter: 'api-calls', windowKind: 'PERIOD', windowStart: periodStart, windowEnd: periodEnd,
      value: '120', eventCount: 3, lastEventTime: new Date().toISOString(), version: 1,
    };
    await suite.produce(TOPICS.usageAggregates, [{ key: customerMeterKey(TENANT, 'c-1', 'api-calls'), value: aggregate }]);
    // Active, no utilisation known yet: usage 50, billing 100, support 100, NPS neutral 50 -> 20 + 30 + 20 + 5.
    await expectEventually(() => expect(health('c-1').map((h) => [h.score, h.band])).toEqual([[75, 'green']]));
    await expectEventually(() => expect(risk('c-1').map((r) => [r.previousBand, r.band])).toEqual([[null, 'green']]));

    const alert: UsageThresholdAlert = {
      ...envelope(), customer: 'c-1', meter: 'api-calls', periodStart, periodEnd, kind: 'soft', thresholdPercent: 90, usage: '900', included: '1000',
    };
    await suite.produce(TOPICS.alertsUsageThreshold, [{ key: customerKey(TENANT, 'c-1'), value: alert }]);
    // Utilisation 90 %: 36 + 30 + 20 + 5; still green, so no churn-risk event.
    await expectEventually(() => expect(health('c-1').map((h) => h.score)).toEqual([75, 91]));

    const delinquent: AccountStatusChanged = { ...envelope(), customer: 'c-1', status: 'delinquent', overdueInvoices: 2 };
    // Delivered twice (as after a producer retry): the second changes no input, so nothing more is published.
    await suite.produce(TOPICS.billingAccountStatus, [{ key: customerKey(TENANT, 'c-1'), value: delinquent }]);
    await suite.produce(TOPICS.billingAccountStatus, [{ key: customerKey(TENANT, 'c-1'), value: delinquent }]);
    await expectEventually(() => expect(risk('c-1')).toHaveLength(2));
    const moved = risk('c-1')[1];
    expect(moved).toMatchObject({ previousBand: 'green', band: 'yellow', score: 61 });
    expect(moved.reasons).toEqual(['billing status score 100 -> 0']);
    // Both deliveries consumed and everything they caused published — then exactly three scores exist
    // (health and churn risk are different topics, so seeing the risk event does not mean the score arrived).
    const schema = suite.schema('health-scoring');
    await expectEventually(async () => {
      const [consumed] = await suite.query<{ n: number }>(
        `SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${schema}".consumer_offsets WHERE topic = $1`,
        [suite.topic(TOPICS.billingAccountStatus)],
      );
      expect(consumed.n).toBe(2);
      const [pending] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`);
      expect(pending.n).toBe(0);
      expect(health('c-1').map((h) => [h.score, h.band])).toEqual([[75, 'green'], [91, 'green'], [61, 'yellow']]);
    });
    await new Promise((r) => setTimeout(r, 500)); // published just now: give a wrongly repeated score time to show
    expect(health('c-1').map((h) => [h.score, h.band])).toEqual([[75, 'green'], [91, 'green'], [61, 'yellow']]);
    expect(health('c-1')[2].inputs).toEqual({ usage: 90, billing: 0, support: 100, nps: 50 });

    const [row] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${suite.schema('health-scoring')}".score_history WHERE customer = 'c-1'`);
    expect(row.n).toBe(3);
  });
});
