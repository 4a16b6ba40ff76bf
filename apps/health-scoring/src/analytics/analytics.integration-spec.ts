import { randomUUID } from 'node:crypto';
import { customerKey, subscriptionKey, TOPICS, type ApiKeyChanged, type InvoiceChanged, type NpsFeedback, type SubscriptionChanged, type UsageThresholdAlert } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { healthScoringService } from '../health-scoring.service';

const TENANT = 'acme';
const KEY = 'key-analytics';

/**
 * April and May 2025 of a small tenant, with the figures worked out by hand from the brief's formulas:
 * MRR April 100 + 200 + 300 + 400 = 1000. In May a grows 100 -> 150 on the same plan (usage), b 200 -> 260
 * after upgrading, c shrinks 300 -> 250, d churns (400), e is new (80).
 */
describe('health-scoring analytics (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  const schema = suite.schema('health-scoring');
  let produced = 0;
  const env = (occurredAt: string) => ({ eventId: randomUUID(), occurredAt, tenant: TENANT });
  const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${KEY}` } });

  const subscription = (customer: string, occurredAt: string, plan: string, included: string, status: SubscriptionChanged['status'] = 'active') => ({
    key: subscriptionKey(TENANT, customer, `sub-${customer}`),
    value: { ...env(occurredAt), customer, subscriptionId: `sub-${customer}`, plan, status, periodStart: '2025-03-01T00:00:00Z', periodEnd: '2025-04-01T00:00:00Z', entitlements: [{ meter: 'api-calls', included, thresholds: [50, 75, 90, 100], hardLimit: false }] } satisfies SubscriptionChanged,
  });
  const invoice = (customer: string, month: string, total: string, status: InvoiceChanged['status'] = 'paid', currency = 'EUR') => ({
    key: customerKey(TENANT, customer),
    value: { ...env(`${month}-28T00:00:00Z`), customer, invoiceId: `inv-${customer}-${month}-${status}-${currency}`, subscriptionId: `sub-${customer}`, status, currency, periodStart: `${month}-01T00:00:00Z`, periodEnd: `${month}-28T00:00:00Z`, total } satisfies InvoiceChanged,
  });
  const nps = (customer: string, score: number, occurredAt: string) => ({ key: customerKey(TENANT, customer), value: { ...env(occurredAt), customer, score } satisfies NpsFeedback });
  const alert = (customer: string, occurredAt: string, kind: UsageThresholdAlert['kind'], thresholdPercent: number) => ({
    key: customerKey(TENANT, customer),
    value: { ...env(occurredAt), customer, meter: 'api-calls', periodStart: '2025-05-01T00:00:00Z', periodEnd: '2025-06-01T00:00:00Z', kind, thresholdPercent, usage: '900', included: '1000' } satisfies UsageThresholdAlert,
  });
  const produce = async (topic: string, messages: Array<{ key: string; value: unknown }>) => {
    await suite.produce(topic, messages);
    produced += messages.length;
  };

  beforeAll(async () => {
    await suite.createTopics();
    const key: ApiKeyChanged = { ...env(new Date().toISOString()), keyId: randomUUID(), keyHash: hashApiKey(KEY), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    service = await createServiceApp(healthScoringService, suite.serviceConfig(healthScoringService, { HEALTH_RESCORE_INTERVAL_MS: '3600000' }));
    await service.app.listen(0, '127.0.0.1');
    base = await service.app.getUrl();

    await produce(TOPICS.billingSubscriptions, [
      ...['a', 'b', 'c', 'd'].map((c) => subscription(c, '2025-03-01T00:00:00Z', 'pro', '1000')),
      subscription('b', '2025-05-10T00:00:00Z', 'business', '5000'), // upgrade, 2 days after b's overage alert
      subscription('d', '2025-05-01T00:00:00Z', 'pro', '1000', 'canceled'),
      subscription('e', '2025-05-01T00:00:00Z', 'pro', '1000'),
    ]);
    await produce(TOPICS.billingInvoices, [
      invoice('a', '2025-03', '100'), invoice('b', '2025-03', '200'), invoice('c', '2025-03', '300'), invoice('d', '2025-03', '400'),
      invoice('a', '2025-04', '100'), invoice('b', '2025-04', '200'), invoice('c', '2025-04', '300'), invoice('d', '2025-04', '400'),
      invoice('a', '2025-05', '150'), invoice('b', '2025-05', '260'), invoice('c', '2025-05', '250'), invoice('e', '2025-05', '80'),
      invoice('e', '2025-05', '1000', 'draft'), // a draft is not revenue
      invoice('c', '2025-05', '999', 'void'), // nor a void invoice
      invoice('f', '2025-05', '500', 'paid', 'USD'),
      // A yearly plan (in its own currency, so the EUR figures stand): a twelfth of it in each month it covers.
      { key: customerKey(TENANT, 'y'), value: { ...env('2025-01-15T00:00:00Z'), customer: 'y', invoiceId: 'inv-y-2025', subscriptionId: 'sub-y', status: 'paid', currency: 'GBP', periodStart: '2025-01-15T00:00:00Z', periodEnd: '2026-01-15T00:00:00Z', total: '1200' } satisfies InvoiceChanged },
    ]);
    await produce(TOPICS.feedbackNps, [
      nps('a', 10, '2025-05-03T00:00:00Z'), nps('b', 9, '2025-05-03T00:00:00Z'), nps('c', 7, '2025-05-03T00:00:00Z'),
      nps('c', 3, '2025-05-20T00:00:00Z'), // c's latest answer of the month counts
      nps('e', 8, '2025-05-03T00:00:00Z'), nps('e', 0, '2025-04-03T00:00:00Z'), // April's does not
    ]);
    await produce(TOPICS.alertsUsageThreshold, [alert('a', '2025-05-05T00:00:00Z', 'soft', 75), alert('b', '2025-05-08T00:00:00Z', 'overage', 100), alert('d', '2025-05-02T00:00:00Z', 'soft', 90)]);
    await expectEventually(async () => {
      const [row] = await suite.query<{ n: number }>(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${schema}".consumer_offsets WHERE topic <> $1`, [suite.topic(TOPICS.catalogApiKeys)]);
      expect(row.n).toBe(produced);
    });
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('returns the hand-computed figures of a month', async () => {
    const res = await get('/api/v1/analytics?month=2025-05&currency=EUR');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      month: '2025-05',
      currency: 'EUR',
      startMrr: '1000.00',
      endMrr: '740.00', // 150 + 260 + 250 + 80
      newMrr: '80.00',
      expansionMrr: '110.00', // 50 + 60
      usageExpansionMrr: '50.00', // a, same plan
      contractionMrr: '50.00',
      churnedMrr: '400.00',
      customersAtStart: 4,
      customersLost: 1,
      customersAtEnd: 4,
      nrr: 66, // (1000 + 110 - 50 - 400) / 1000
      grr: 55, // (1000 - 50 - 400) / 1000
      usageExpansionShare: 45.45, // 50 / 110
      usageNrr: 60, // (1000 + 50 - 450) / 1000
      churnRate: 25, // 1 of 4
      arpa: '185.00', // 740 / 4
      ltv: '740.00', // 185 / 0.25
      nps: { score: 25, promoters: 2, passives: 1, detractors: 1, responses: 4 }, // (2 - 1) / 4
      thresholdUtilizationRate: 50, // a and b of the 4 paying in May (d alerted but churned)
      upgradeConversionRate: 33.33, // b of a, b, d
      upgradeWindowDays: 30,
    });
    const shortWindow = await (await get('/api/v1/analytics?month=2025-05&currency=EUR&upgradeWindowDays=1')).json();
    expect(shortWindow).toMatchObject({ upgradeConversionRate: 0 }); // b upgraded 2 days after its alert
  });

  it('spreads a yearly invoice over its months: steady MRR, no churn in the months between invoices', async () => {
    const may = (await (await get('/api/v1/analytics?month=2025-05&currency=GBP')).json()) as Record<string, unknown>;
    expect(may).toMatchObject({ startMrr: '100.00', endMrr: '100.00', churnedMrr: '0.00', customersAtStart: 1, customersLost: 0, churnRate: 0 });
    const january = (await (await get('/api/v1/analytics?month=2025-01&currency=GBP')).json()) as Record<string, unknown>;
    expect(january).toMatchObject({ startMrr: '0.00', endMrr: '100.00', newMrr: '100.00' });
  });

  it('returns activation cohorts with month-2 and year-1 retention', async () => {
    const body = await (await get('/api/v1/analytics/cohorts?through=2025-05&currency=EUR')).json();
    expect(body).toEqual({
      cohorts: [
        { cohort: '2025-03', customers: 4, retention: [100, 100, 75], month2Retention: 100, year1Retention: null },
        { cohort: '2025-05', customers: 1, retention: [100], month2Retention: null, year1Retention: null },
      ],
    });
  });

  it('asks for a currency when invoices mix them, and names bad query fields', async () => {
    const mixed = await get('/api/v1/analytics?month=2025-05');
    expect(mixed.status).toBe(400);
    expect(await mixed.json()).toMatchObject({ errors: [{ pointer: '/currency' }] });
    const bad = await get('/api/v1/analytics?month=2025-13&currency=euro&upgradeWindowDays=0');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: Array<{ pointer: string }> }).errors.map((e) => e.pointer)).toEqual(['/month', '/currency', '/upgradeWindowDays']);
    expect((await fetch(`${base}/api/v1/analytics?month=2025-05`)).status).toBe(401);
  });
});
