import { TOPICS, type SubscriptionChanged, type UsageThresholdAlert } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { MeterCatalogService } from '../../apps/ingestion/src/meters/meter-catalog.service';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { billingService } from '../../apps/billing/src/billing.service';
import { thresholdAlertingService } from '../../apps/threshold-alerting/src/threshold-alerting.service';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANT = 'plan-alerts';
const CUSTOMER = 'c-alerts';

/**
 * A plan's alert settings, end to end: the plan is written through billing's HTTP API with a fractional
 * percentage (33.3 %) and a spend threshold; billing publishes the meter's charge and alerts on
 * `billing.subscriptions.v1`; usage goes in through ingestion's HTTP API; threshold-alerting fires each
 * threshold exactly once, at the exact decimal (333 of 1000 units, not 330 as 33 % would), the spend
 * alert priced with the plan's charge. Real Kafka and Postgres, no message written by hand.
 */
describe('plan alert settings: billing API -> billing.subscriptions.v1 -> threshold-alerting', () => {
  const suite = new TestSuite();
  const apps: ServiceApp[] = [];
  const bases: Record<'ingestion' | 'billing' | 'alerting', string> = { ingestion: '', billing: '', alerting: '' };
  let key = '';
  let n = 0;

  beforeAll(async () => {
    await suite.createTopics();
    const definitions = [ingestionService, aggregationService, billingService, thresholdAlertingService];
    const env: Record<string, Record<string, string>> = {
      ingestion: { ADMIN_TOKEN: 'e2e-admin-token-0123456789' },
      // Billing's jobs stay out of the way: nothing here needs a period to roll.
      billing: { BILLING_JOB_INTERVAL_MS: String(24 * HOUR) },
    };
    for (const definition of definitions) {
      const service = await createServiceApp(definition, suite.serviceConfig(definition, env[definition.name] ?? {}));
      await service.app.listen(0, '127.0.0.1');
      apps.push(service);
    }
    const url = async (i: number) => (await apps[i].app.getUrl()).replace('[::1]', '127.0.0.1');
    bases.ingestion = await url(0);
    bases.billing = await url(2);
    bases.alerting = await url(3);
  });

  afterAll(async () => {
    for (const { app } of apps.reverse()) await app.close();
    await suite.cleanup();
  });

  const api = async (base: keyof typeof bases, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${bases[base]}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };

  /** One usage event through ingestion's HTTP API (an explicit id sends a duplicate). */
  const use = async (calls: number, id = `evt-${(n += 1)}`): Promise<void> => {
    const res = await fetch(`${bases.ingestion}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id, source: 'plan-alerts-e2e', type: 'api.call', subject: CUSTOMER, time: new Date().toISOString(), data: { calls } }),
    });
    expect(res.status).toBe(202);
  };

  /** Threshold-alerting has applied usage `units` (its entitlement check answers from what its transactions committed). */
  const applied = (units: string) =>
    expectEventually(async () => expect((await api('alerting', 'GET', `/api/v1/entitlements/${CUSTOMER}/api-calls`)).json).toMatchObject({ usage: units, included: '1000' }), 60_000);

  it('fires percent:33.3 and the spend threshold once each, with the cost priced from the plan, across duplicates and subscription changes', async () => {
    const collector = await suite.collect([TOPICS.alertsUsageThreshold, TOPICS.billingSubscriptions]);
    await apps[0].app.get(ApiKeyService).createTenant(TENANT, 'Plan alerts');
    key = (await apps[0].app.get(ApiKeyService).createKey(TENANT, 'e2e')).key;
    await apps[0].app.get(MeterCatalogService).upsert(TENANT, { slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    // The key reaches billing and threshold-alerting through catalog.api-keys.v1.
    await expectEventually(async () => expect((await api('billing', 'GET', '/api/v1/customers')).status).toBe(200));

    expect((await api('billing', 'POST', '/api/v1/customers', { id: CUSTOMER, name: 'Alerts', currency: 'EUR', timezone: 'UTC' })).status).toBe(201);
    const charge = { meter: 'api-calls', model: 'standard', properties: { amount: '0.02' }, includedUnits: '1000', thresholds: [33.3, 100], alerts: { spend: ['2.5'], absolute: ['2000'] } };
    const plan = await api('billing', 'POST', '/api/v1/plans', { code: 'metered', name: 'Metered', interval: 'monthly', currency: 'EUR', charges: [charge] });
    expect(plan.status).toBe(201);
    // Backdated, anniversary: "now" lies well inside the period, whenever this runs (no boundary to cross).
    const startAt = new Date(Date.now() - 20 * DAY).toISOString();
    const created = await api('billing', 'POST', '/api/v1/subscriptions', { id: 'sub-alerts', customer: CUSTOMER, plan: 'metered', billingTime: 'anniversary', startAt });
    expect(created.status).toBe(201);

    // Billing publishes the meter's charge and alert settings, exactly as the plan says them.
    const published = await expectEventually(() => {
      const list = collector.on<SubscriptionChanged>(TOPICS.billingSubscriptions);
      expect(list).toHaveLength(1);
      return list[0].value;
    });
    expect(published.entitlements).toEqual([
      { meter: 'api-calls', included: '1000', thresholds: [33.3, 100], hardLimit: false, alerts: { spend: ['2.5'], absolute: ['2000'] }, charge: { model: 'standard', properties: { amount: '0.02' } } },
    ]);
    // Threshold-alerting has the entitlement: the check answers it before any usage.
    await applied('0');

    // 330 units: 33 % of 1000, not 33.3 %. A rounded threshold would fire here.
    await use(330);
    await applied('330');
    // 333: exactly 33.3 %.
    await use(3);
    await applied('333');
    await expectEventually(() => expect(collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).map((a) => a.value.threshold)).toContain('33.3'), 60_000);

    // 1130: 100 % (overage) and 130 billable units × 0.02 = 2.6 spent, past the 2.5 spend threshold. Then the
    // same event again (a producer retry): counted once, so nothing more.
    await use(797, 'evt-big');
    await use(797, 'evt-big');
    await applied('1130');

    // Subscription changes republish the entitlement, each time with its charge and alerts; alerting
    // re-evaluates them and fires nothing again.
    expect((await api('billing', 'POST', '/api/v1/subscriptions/sub-alerts/pause')).status).toBe(200);
    expect((await api('billing', 'POST', '/api/v1/subscriptions/sub-alerts/resume')).status).toBe(200);
    await expectEventually(() => expect(collector.on<SubscriptionChanged>(TOPICS.billingSubscriptions).map((m) => m.value.status)).toEqual(['active', 'paused', 'active']));
    for (const m of collector.on<SubscriptionChanged>(TOPICS.billingSubscriptions)) expect(m.value.entitlements).toEqual(published.entitlements);
    await applied('1130');

    // 2000 units: the absolute threshold. Alerts are keyed by customer (one partition, in order), so once it is
    // collected every alert fired before it has been collected too.
    await use(870);
    await applied('2000');
    const alerts = await expectEventually(() => {
      const list = collector.on<UsageThresholdAlert>(TOPICS.alertsUsageThreshold).map((a) => a.value);
      expect(list.map((a) => a.threshold)).toContain('2000');
      return list;
    }, 60_000);

    // Forecast alerts (run-rate projections) are another feature's; every threshold alert fired exactly once.
    const fired = alerts.filter((a) => a.kind !== 'forecast');
    expect(fired.map((a) => [a.kind, a.thresholdUnit, a.threshold, a.usage])).toEqual([
      ['soft', 'percent', '33.3', '333'],
      ['overage', 'percent', '100', '1130'],
      ['spend', 'money', '2.5', '1130'],
      ['absolute', 'units', '2000', '2000'],
    ]);
    expect(new Set(fired.map((a) => a.eventId)).size).toBe(4);
    expect(fired[0]).toMatchObject({ thresholdPercent: 33.3, included: '1000', costSoFar: '0', currency: 'EUR' });
    expect(fired[1]).toMatchObject({ costSoFar: '2.6', overageCost: '2.6', currency: 'EUR' });
    expect(fired[2]).toMatchObject({ costSoFar: '2.6', currency: 'EUR', tenant: TENANT, customer: CUSTOMER, meter: 'api-calls' });
    expect(fired[3]).toMatchObject({ costSoFar: '20', currency: 'EUR' });
    expect(fired.every((a) => a.periodStart === published.periodStart && a.periodEnd === published.periodEnd)).toBe(true);
    await collector.stop();
  }, 240_000);
});
