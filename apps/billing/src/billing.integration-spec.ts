import { randomUUID } from 'node:crypto';
import { customerKey, customerMeterKey, dlqTopicFor, TOPICS, type AccountStatusChanged, type InvoiceChanged, type PaymentReported, type UsageAggregate } from '@tally/contracts';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import type { PlanDefinition } from './catalog/plan-definition';
import { InvoiceService, type InvoiceView } from './invoices/invoice.service';
import { SubscriptionService } from './subscriptions/subscription.service';

const TENANT = 'acme';
const KEY = 'key-billing';
const HOUR = 3_600_000;

const plan: PlanDefinition = {
  code: 'pro',
  name: 'Pro',
  interval: 'monthly',
  currency: 'EUR',
  baseFee: '49',
  minimumCommitment: '100',
  charges: [
    {
      meter: 'api-calls',
      model: 'graduated',
      includedUnits: '500',
      properties: {
        graduated_ranges: [
          { from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '0' },
          { from_value: 1001, to_value: null, per_unit_amount: '0.005', flat_amount: '0' },
        ],
      },
    },
    { meter: 'storage', model: 'standard', properties: { amount: '0.1' } },
  ],
};

describe('billing service (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let collector: TopicCollector;
  let invoices: InvoiceService;
  let subscriptions: SubscriptionService;
  let version = 0;

  const http = (method: string, path: string, body?: unknown, accept = 'application/json') => app.request(method, path, { body, headers: { accept } });

  /** Period usage as aggregation publishes it. */
  const usage = (customer: string, meter: string, start: string, end: string, value: string): { key: string; value: UsageAggregate } => ({
    key: customerMeterKey(TENANT, customer, meter),
    value: {
      eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter, windowKind: 'PERIOD',
      windowStart: start, windowEnd: end, value, eventCount: 1, lastEventTime: start, version: ++version,
    },
  });
  const periodUsage = (customer: string) =>
    suite.query<{ meter: string; value: string; period_start: Date }>(
      `SELECT meter, value::text, period_start FROM "${suite.schema('billing')}".period_usage WHERE customer = $1 ORDER BY period_start, meter`,
      [customer],
    );
  const invoiceRows = (customer: string) =>
    suite.query<{ invoice_id: string; status: string; period_start: Date }>(
      `SELECT invoice_id, status, period_start FROM "${suite.schema('billing')}".invoices WHERE customer = $1 ORDER BY period_start`,
      [customer],
    );

  beforeAll(async () => {
    // The job timer is left to the tests (explicit clocks); grace is one hour.
    app = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }], collect: [TOPICS.billingInvoices, TOPICS.billingAccountStatus, TOPICS.billingSubscriptions] });
    collector = app.collector;
    invoices = app.service.app.get(InvoiceService);
    subscriptions = app.service.app.get(SubscriptionService);
  });

  afterAll(() => stopBillingApp(app, suite));

  it('manages customers and versioned plans, refusing invalid pricing with a pointer to the field', async () => {
    expect((await http('POST', '/api/v1/customers', { id: 'c-1', name: 'One GmbH', currency: 'EUR', timezone: 'UTC', taxRate: '19' })).status).toBe(201);
    expect((await http('POST', '/api/v1/customers', { id: 'c-1', name: 'One GmbH', currency: 'EUR', timezone: 'UTC', taxRate: '19' })).status).toBe(200);
    const bad = await http('POST', '/api/v1/customers', { id: 'x', name: 'X', currency: 'euro', timezone: 'Mars/Base' });
    expect(bad.status).toBe(400);
    expect((await json<{ errors: Array<{ pointer: string }> }>(bad)).errors.map((e) => e.pointer).sort()).toEqual(['/currency', '/timezone']);

    const v1 = await http('POST', '/api/v1/plans', plan);
    expect(v1.status).toBe(201);
    expect(await json<{ version: number }>(v1)).toMatchObject({ code: 'pro', version: 1 });
    // Same definition again: no new version. A change: version 2, version 1 kept.
    expect(await json<{ version: number }>(http('POST', '/api/v1/plans', plan))).toMatchObject({ version: 1 });
    expect(await json<{ version: number }>(http('POST', '/api/v1/plans', { ...plan, baseFee: '59' }))).toMatchObject({ version: 2 });
    expect((await json<{ versions: Array<{ version: number }> }>(http('GET', '/api/v1/plans/pro'))).versions.map((v) => v.version)).toEqual([1, 2]);

    const gapped = await http('POST', '/api/v1/plans', {
      ...plan,
      code: 'broken',
      charges: [{ meter: 'm', model: 'graduated', properties: { graduated_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '1', flat_amount: '0' }, { from_value: 20, to_value: null, per_unit_amount: '1', flat_amount: '0' }] } }],
    });
    expect(gapped.status).toBe(400);
    const problem = await json<{ errors: Array<{ pointer: string; detail: string }> }>(gapped);
    expect(problem.errors).toEqual([{ pointer: '/charges/0/properties', detail: 'graduated_ranges[1].from_value must equal the previous to_value (10, adjacent ranges) or the previous to_value + 1 (11, inclusive ranges), got 20' }]);

    const simulated = await json(http('POST', '/api/v1/pricing/simulate', [
      { model: 'standard', properties: { amount: '0.00012' }, units: '1000001' },
      { model: 'nope', properties: {}, units: '1' },
    ]));
    expect(simulated).toEqual([{ amount: '120.00012', units: '1000001' }, { error: expect.stringContaining('unknown charge model') }]);
  });

  it('usage in -> period close -> one invoice with base fee, tiered usage, commitment true-up and tax; drafts during the grace period', async () => {
    const sub = await subscriptions.create(TENANT, { id: 'sub-1', customer: 'c-1', plan: 'pro', planVersion: 1, startAt: '2026-09-01T00:00:00Z' }, new Date('2026-09-01T00:00:00Z'));
    expect(sub).toMatchObject({ periodStart: '2026-09-01T00:00:00.000Z', periodEnd: '2026-10-01T00:00:00.000Z', entitlements: [{ meter: 'api-calls', included: '500' }] });
    await suite.produce(TOPICS.usageAggregates, [
      usage('c-1', 'api-calls', '2026-09-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z', '2500'),
      usage('c-1', 'storage', '2026-09-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z', '30'),
    ]);
    await expectEventually(async () => expect((await periodUsage('c-1')).map((r) => r.value)).toEqual(['2500', '30']));

    expect(await subscriptions.rollPeriods(new Date('2026-10-01T00:30:00Z'))).toBe(1);
    expect(await invoices.closePeriods(new Date('2026-10-01T00:30:00Z'))).toEqual({ drafted: 1, finalized: 0, failed: 0 });
    expect((await invoiceRows('c-1')).map((r) => r.status)).toEqual(['draft']);
    expect(await invoices.closePeriods(new Date('2026-10-01T01:00:00Z'))).toEqual({ drafted: 0, finalized: 1, failed: 0 });
    // Nothing left to close: the October period has not ended.
    expect(await invoices.closePeriods(new Date('2026-10-01T02:00:00Z'))).toEqual({ drafted: 0, finalized: 0, failed: 0 });

    const [invoice] = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/c-1/invoices'))).data;
    expect(invoice).toMatchObject({ status: 'finalized', number: 'INV-000001', currency: 'EUR', periodStart: '2026-09-01T00:00:00.000Z' });
    // 2,500 calls - 500 included = 2,000: 1,000 x 0.01 + 1,000 x 0.005 = 15; storage 30 x 0.1 = 3; fees 49 + 15 + 3 = 67,
    // trued up to the 100 commitment (+33); 19 % tax.
    expect(invoice.document.lines.map((l) => [l.kind, l.code, l.amount])).toEqual([
      ['base_fee', 'pro', '49.00'],
      ['usage', 'api-calls', '15.00'],
      ['usage', 'storage', '3.00'],
      ['commitment_true_up', expect.any(String), '33.00'],
      ['tax', expect.any(String), '19.00'],
    ]);
    expect(invoice.document).toMatchObject({ subtotal: '100.00', tax: '19.00', total: '119.00', amountDue: '119.00' });
    const tiers = invoice.document.lines[1].breakdown.map((b) => [b.units, b.amount]);
    expect(tiers).toEqual(expect.arrayContaining([['1000', '10'], ['1000', '5']]));

    const published = await expectEventually(() => {
      const list = collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.invoiceId === invoice.id);
      expect(list.map((m) => m.value.status)).toEqual(['draft', 'finalized']);
      return list;
    });
    expect(published[1].value).toMatchObject({ number: 'INV-000001', total: '119.00', amountDue: '119.00', subscriptionId: 'sub-1' });
    // The next period was published for aggregation and threshold-alerting.
    await expectEventually(() =>
      expect(collector.on<{ subscriptionId: string; periodStart: string }>(TOPICS.billingSubscriptions).map((m) => m.value.periodStart)).toContain('2026-10-01T00:00:00.000Z'),
    );

    const html = await (await http('GET', `/api/v1/invoices/${invoice.id}`, undefined, 'text/html')).text();
    expect(html).toContain('Invoice INV-000001');
    expect(html).toContain('119.00 EUR');
  });

  it('a close that crashes half-way leaves nothing but its failure record; two closes at once still make exactly one invoice', async () => {
    await http('POST', '/api/v1/customers', { id: 'c-2', name: 'Two', currency: 'EUR' });
    await subscriptions.create(TENANT, { id: 'sub-2', customer: 'c-2', plan: 'pro', planVersion: 1, startAt: '2026-09-01T00:00:00Z' }, new Date('2026-09-01T00:00:00Z'));
    await subscriptions.rollPeriods(new Date('2026-10-01T05:00:00Z'));
    expect(await invoices.closePeriods(new Date('2026-10-01T05:00:00Z'), (inv) => {
      if (inv.customer === 'c-2') throw new Error('killed half-way');
    })).toEqual({ drafted: 0, finalized: 0, failed: 1 });
    expect(await invoiceRows('c-2')).toEqual([]);
    expect((await json<{ data: Array<{ error: string }> }>(http('GET', '/api/v1/billing/job-failures'))).data.map((f) => f.error)).toEqual(['killed half-way']);

    // After the one-minute backoff.
    const results = await Promise.all([invoices.closePeriods(new Date('2026-10-01T05:01:00Z')), invoices.closePeriods(new Date('2026-10-01T05:01:00Z'))]);
    expect(results.reduce((n, r) => n + r.finalized, 0)).toBe(1);
    expect(await invoices.closePeriods(new Date('2026-10-01T06:00:00Z'))).toEqual({ drafted: 0, finalized: 0, failed: 0 });
    expect((await json<{ data: unknown[] }>(http('GET', '/api/v1/billing/job-failures'))).data).toEqual([]);
    const rows = await invoiceRows('c-2');
    expect(rows.map((r) => r.status)).toEqual(['finalized']);
    // No usage: base fee 49 trued up to the 100 commitment, no tax.
    const finalized = await expectEventually(() => {
      const list = collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.customer === 'c-2');
      expect(list).toHaveLength(1);
      return list;
    });
    expect(finalized[0].value).toMatchObject({ status: 'finalized', total: '100.00' });
  });

  it('usage that arrives after its period was invoiced is billed on the next invoice, once', async () => {
    // 200 more calls for September (a higher version of the same window), all in the 0.005 tier: 1.00.
    await suite.produce(TOPICS.usageAggregates, [
      usage('c-1', 'api-calls', '2026-09-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z', '2700'),
      usage('c-1', 'api-calls', '2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', '100'),
    ]);
    await expectEventually(async () => expect((await periodUsage('c-1')).map((r) => r.value)).toEqual(['2700', '30', '100']));
    await subscriptions.rollPeriods(new Date('2026-11-01T02:00:00Z'));
    expect(await invoices.closePeriods(new Date('2026-11-01T02:00:00Z'))).toMatchObject({ finalized: 2 }); // c-1 and c-2 October
    const october = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/c-1/invoices'))).data.find((i) => i.periodStart === '2026-10-01T00:00:00.000Z')!;
    const adjustments = october.document.lines.filter((l) => l.kind === 'adjustment');
    expect(adjustments.map((l) => [l.units, l.amount])).toEqual([['200', '1.00']]);
    expect(adjustments[0].description).toContain('2026-09-01');

    await subscriptions.rollPeriods(new Date('2026-12-01T02:00:00Z'));
    await invoices.closePeriods(new Date('2026-12-01T02:00:00Z'));
    const november = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/c-1/invoices'))).data.find((i) => i.periodStart === '2026-11-01T00:00:00.000Z')!;
    expect(november.document.lines.filter((l) => l.kind === 'adjustment')).toEqual([]);
  });

  it('prorates the base fee by day on a plan change and credits whole days paused, and publishes each change', async () => {
    await http('POST', '/api/v1/customers', { id: 'c-5', name: 'Five', currency: 'EUR' });
    await http('POST', '/api/v1/customers', { id: 'c-6', name: 'Six', currency: 'EUR' });
    await subscriptions.create(TENANT, { id: 'sub-5', customer: 'c-5', plan: 'pro', planVersion: 1, startAt: '2026-09-01T00:00:00Z' }, new Date('2026-09-01T00:00:00Z'));
    await subscriptions.create(TENANT, { id: 'sub-6', customer: 'c-6', plan: 'pro', planVersion: 1, startAt: '2026-09-01T00:00:00Z' }, new Date('2026-09-01T00:00:00Z'));
    // Version 2 of the plan costs 59; sub-5 moves to it on September 16th (day 16 of 30 belongs to the new plan).
    const changed = await subscriptions.changePlan(TENANT, 'sub-5', { plan: 'pro', planVersion: 2 }, new Date('2026-09-16T00:00:00Z'));
    expect(changed).toMatchObject({ plan: 'pro', planVersion: 2 });
    await expect(subscriptions.changePlan(TENANT, 'sub-5', { plan: 'pro', planVersion: 1 }, new Date('2026-09-17T00:00:00Z'))).rejects.toThrow(/already changed this period/);
    await subscriptions.pause(TENANT, 'sub-6', new Date('2026-09-11T00:00:00Z'));
    await subscriptions.resume(TENANT, 'sub-6', new Date('2026-09-21T00:00:00Z'));

    await subscriptions.rollPeriods(new Date('2026-10-01T03:00:00Z'));
    await invoices.closePeriods(new Date('2026-10-01T03:00:00Z'));
    const invoiceOf = async (customer: string) => (await json<{ data: InvoiceView[] }>(http('GET', `/api/v1/customers/${customer}/invoices`))).data[0];
    const five = await invoiceOf('c-5');
    // 49 x 15/30 = 24.50 on version 1, 59 x 15/30 = 29.50 on version 2; the commitment (a whole period) trues up to 100.
    expect(five.document.lines.filter((l) => l.kind === 'base_fee').map((l) => l.amount).sort()).toEqual(['24.50', '29.50']);
    expect(five.document.total).toBe('100.00');
    const six = await invoiceOf('c-6');
    // Ten whole days paused: 49 x 10/30 = 16.33 credited.
    expect(six.document.lines.filter((l) => l.kind === 'adjustment').map((l) => [l.units, l.amount])).toEqual([['10', '-16.33']]);
    // The changes reach the topic through the outbox relay, so the last one may still be on its way.
    await expectEventually(() => {
      const statuses = collector.on<{ subscriptionId: string; status: string; planVersion: number }>(TOPICS.billingSubscriptions)
        .filter((m) => m.value.subscriptionId === 'sub-6').map((m) => m.value.status);
      expect(statuses.slice(0, 3)).toEqual(['active', 'paused', 'active']);
    });
  });

  it('payment failure -> payment_failed with a retry date -> past_due account status; delinquent later; paid -> good standing', async () => {
    const now = new Date();
    await http('POST', '/api/v1/customers', { id: 'c-4', name: 'Four', currency: 'EUR' });
    const sub = await subscriptions.create(TENANT, { customer: 'c-4', plan: 'pro', planVersion: 1, startAt: new Date(now.getTime() - 3 * HOUR).toISOString() }, new Date(now.getTime() - 3 * HOUR));
    // Ended two hours ago (canceled now, not at period end), so its one-hour grace is over.
    await subscriptions.cancel(TENANT, sub.subscriptionId, { atPeriodEnd: false }, new Date(now.getTime() - 2 * HOUR));
    await invoices.closePeriods(now);
    const [invoice] = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/c-4/invoices'))).data;
    expect(invoice).toMatchObject({ status: 'finalized', dueAt: now.toISOString() });

    const failedAt = new Date();
    const payment = (outcome: PaymentReported['outcome'], invoiceId = invoice.id, amount = invoice.document.amountDue): { key: string; value: PaymentReported } => ({
      key: customerKey(TENANT, 'c-4'),
      value: { eventId: randomUUID(), occurredAt: failedAt.toISOString(), tenant: TENANT, customer: 'c-4', invoiceId, outcome, amount },
    });
    const statuses = () => collector.on<AccountStatusChanged>(TOPICS.billingAccountStatus).filter((m) => m.value.customer === 'c-4').map((m) => m.value.status);
    await suite.produce(TOPICS.billingPayments, [payment('failed')]);
    await expectEventually(async () => {
      const inv = await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`));
      expect(inv).toMatchObject({ status: 'payment_failed', paymentAttempts: 1, nextPaymentAttemptAt: new Date(failedAt.getTime() + 24 * HOUR).toISOString() });
    });
    await expectEventually(() => expect(statuses()).toEqual(['good_standing', 'past_due']));
    expect((await json<{ accountStatus: string }>(http('GET', '/api/v1/customers/c-4'))).accountStatus).toBe('past_due');
    await expectEventually(() =>
      expect(collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.invoiceId === invoice.id).map((m) => m.value.status)).toContain('payment_failed'),
    );

    // Still unpaid 31 days later: delinquent.
    await invoices.runDunning(new Date(failedAt.getTime() + 31 * 24 * HOUR));
    await expectEventually(() => expect(statuses()).toEqual(['good_standing', 'past_due', 'delinquent']));

    // A payment for an invoice that does not exist, and one of a different amount than due, go to the DLQ
    // (partial payments are not modelled); the real one after them is applied.
    const dlq = await suite.collect([dlqTopicFor(TOPICS.billingPayments)]);
    await suite.produce(TOPICS.billingPayments, [payment('succeeded', 'no-such-invoice'), payment('succeeded', invoice.id, '0.01'), payment('succeeded')]);
    await expectEventually(async () => expect((await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).status).toBe('paid'));
    await expectEventually(() =>
      expect(dlq.on<{ reason: string }>(dlqTopicFor(TOPICS.billingPayments)).map((m) => m.value.reason)).toEqual([
        'no finalized invoice "no-such-invoice" of customer "c-4"',
        `payment of 0.01 does not match the ${invoice.document.amountDue} due on invoice "${invoice.id}"`,
      ]),
    );
    await expectEventually(() => expect(statuses()).toEqual(['good_standing', 'past_due', 'delinquent', 'good_standing']));
  });

  it('prepaid credits are applied after tax; the upcoming invoice projects the running period', async () => {
    await http('POST', '/api/v1/customers', { id: 'c-3', name: 'Three', currency: 'EUR', taxRate: '10' });
    expect(await json(http('POST', '/api/v1/customers/c-3/credits', { amount: '30' }))).toEqual({ currency: 'EUR', balance: '30' });
    await subscriptions.create(TENANT, { id: 'sub-3', customer: 'c-3', plan: 'pro', planVersion: 1, startAt: '2026-09-01T00:00:00Z' }, new Date('2026-09-01T00:00:00Z'));
    // Its periods are cut in its time zone: that cannot change under a live subscription (other fields can).
    const moved = await http('POST', '/api/v1/customers', { id: 'c-3', name: 'Three', currency: 'EUR', taxRate: '10', timezone: 'Asia/Tokyo' });
    expect(moved.status).toBe(409);
    expect((await json<{ errors: Array<{ pointer: string }> }>(moved)).errors.map((e) => e.pointer)).toEqual(['/timezone']);
    expect((await http('POST', '/api/v1/customers', { id: 'c-3', name: 'Three AG', currency: 'EUR', taxRate: '10' })).status).toBe(200);
    await suite.produce(TOPICS.usageAggregates, [usage('c-3', 'storage', '2026-09-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z', '10')]);
    await expectEventually(async () => expect((await periodUsage('c-3')).map((r) => r.value)).toEqual(['10']));

    // Half-way through September: 10 GB so far projects to 20 (2.00); 49 + 2 is trued up to 100; 10 % tax.
    const [upcoming] = await invoices.upcoming(TENANT, 'c-3', new Date('2026-09-16T00:00:00Z'));
    expect(upcoming).toMatchObject({ subscriptionId: 'sub-3', elapsedFraction: '0.5', projectedTotal: '110.00', projectedAmountDue: '80.00' });
    expect(upcoming.invoiceSoFar.lines.find((l) => l.code === 'storage')?.amount).toBe('1.00');
    expect((await http('GET', '/api/v1/customers/c-3/invoices/upcoming')).status).toBe(200);

    await subscriptions.rollPeriods(new Date('2026-10-01T02:00:00Z'));
    await invoices.closePeriods(new Date('2026-10-01T02:00:00Z'));
    const [invoice] = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/c-3/invoices'))).data;
    // 49 + 1.00 storage + 50 true-up = 100, +10 tax = 110, 30 prepaid = 80 due.
    expect(invoice.document).toMatchObject({ subtotal: '100.00', tax: '10.00', total: '110.00', creditsApplied: '30.00', amountDue: '80.00', creditBalanceAfter: '0.00' });
    expect(invoice.document.lines.map((l) => l.kind)).toEqual(['base_fee', 'usage', 'usage', 'commitment_true_up', 'tax', 'credit']);
    expect(await json(http('GET', '/api/v1/customers/c-3/credits'))).toEqual({ data: [{ currency: 'EUR', balance: '0.00' }] });
  });
});
