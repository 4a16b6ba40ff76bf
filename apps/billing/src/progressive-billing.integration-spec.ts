import { randomUUID } from 'node:crypto';
import { customerMeterKey, TOPICS, type InvoiceChanged, type UsageAggregate } from '@tally/contracts';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import type { PlanDefinition } from './catalog/plan-definition';
import { InvoiceService, type InvoiceView } from './invoices/invoice.service';
import type { ReconciliationMismatch } from './invoices/usage-corrections.service';
import { BillingJobsService } from './jobs/billing-jobs.service';
import type { JobFailureView } from './jobs/job-failures.service';
import { SubscriptionService } from './subscriptions/subscription.service';

const TENANT = 'acme';
const KEY = 'key-progressive';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// 1.00 per call, a base fee of 20; invoices mid-period when the usage fees reach 100 and 500.
const plan: PlanDefinition = {
  code: 'pb', name: 'Progressive', interval: 'monthly', currency: 'EUR', baseFee: '20',
  charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '1' } }],
  progressiveBilling: { thresholds: ['500', '100'] },
};

/**
 * Progressive billing on real Kafka and Postgres: usage aggregates arrive on billing's consumer in three
 * steps crossing two thresholds; each crossing issues one progressive invoice in the consumer's transaction,
 * redelivered and replayed aggregates issue nothing more, and the period's invoice is net of both, so the
 * period's invoices add up to the full-period price and reconciliation stays clean.
 */
describe('progressive billing (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let collector: TopicCollector;
  let invoices: InvoiceService;
  let subscriptions: SubscriptionService;

  const http = (path: string) => app.get(path);
  const post = (path: string, body: unknown) => app.post(path, body);
  const invoicesOf = async (customer: string) => (await json<{ data: InvoiceView[] }>(http(`/api/v1/customers/${customer}/invoices`))).data;
  const progressiveOf = async (customer: string) => (await invoicesOf(customer)).filter((i) => i.kind === 'progressive').sort((a, b) => (a.threshold!.levels - b.threshold!.levels));

  const aggregate = (customer: string, period: { start: string; end: string }, value: string, version: number): UsageAggregate => ({
    eventId: `${customer}@${period.start}:v${version}`, occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter: 'api-calls', windowKind: 'PERIOD',
    windowStart: period.start, windowEnd: period.end, value, eventCount: 1, lastEventTime: period.start, version,
  });
  /** Sends aggregates and waits until billing's consumer has applied the highest version among them. */
  let produced = 0;
  /**
   * Produces aggregates and waits until billing has consumed every message produced so far (its offsets, stored
   * in Postgres): a redelivered batch must not still hold the period's row lock when the test closes the period
   * (the close skips a locked period, to be retried by the next job run).
   */
  const deliver = async (customer: string, period: { start: string; end: string }, ...values: Array<[value: string, version: number]>) => {
    await suite.produce(TOPICS.usageAggregates, values.map(([value, version]) => ({ key: customerMeterKey(TENANT, customer, 'api-calls'), value: aggregate(customer, period, value, version) })));
    produced += values.length;
    const highest = Math.max(...values.map(([, v]) => v));
    await expectEventually(async () => {
      const [row] = await suite.query<{ version: string }>(`SELECT version::text FROM "${suite.schema('billing')}".period_usage WHERE customer = $1 AND period_start = $2`, [customer, period.start]);
      expect(Number(row?.version)).toBeGreaterThanOrEqual(highest);
      const [consumed] = await suite.query<{ n: string }>(`SELECT coalesce(sum(next_offset), 0)::text AS n FROM "${suite.schema('billing')}".consumer_offsets WHERE topic = $1`, [suite.topic(TOPICS.usageAggregates)]);
      expect(Number(consumed.n)).toBeGreaterThanOrEqual(produced);
    });
  };
  // Subscriptions start at the month's start (UTC customers): a whole period, so the base fee is not prorated.
  const now = new Date();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();

  beforeAll(async () => {
    app = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }], collect: [TOPICS.billingInvoices] });
    collector = app.collector;
    invoices = app.service.app.get(InvoiceService);
    subscriptions = app.service.app.get(SubscriptionService);
    expect((await post('/api/v1/plans', plan)).status).toBe(201);
  });

  afterAll(() => stopBillingApp(app, suite));

  it('refuses progressive billing terms that cannot be invoiced', async () => {
    const bad = async (progressiveBilling: unknown, currency = 'EUR') => {
      const res = await post('/api/v1/plans', { ...plan, code: `bad-${randomUUID().slice(0, 8)}`, currency, progressiveBilling });
      return { status: res.status, body: JSON.stringify(await res.json()) };
    };
    expect(await bad({})).toMatchObject({ status: 400, body: expect.stringContaining('needs thresholds, a recurring amount or both') });
    expect(await bad({ thresholds: ['100', '100.0'] })).toMatchObject({ status: 400, body: expect.stringContaining('listed twice') });
    expect(await bad({ thresholds: ['0'] })).toMatchObject({ status: 400, body: expect.stringContaining('must be more than 0') });
    expect(await bad({ recurring: '10.5' }, 'JPY')).toMatchObject({ status: 400, body: expect.stringContaining('more decimals than JPY') });
    expect(await bad({ thresholds: ['100'], every: '5' })).toMatchObject({ status: 400 });
  });

  it('two thresholds crossed in three steps: two progressive invoices, the period invoice net of them, totals = the full-period price', async () => {
    expect((await post('/api/v1/customers', { id: 'pb-1', name: 'Progressive One', currency: 'EUR', taxRate: '10' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-pb-1', customer: 'pb-1', plan: 'pb', startAt: monthStart }));
    const period = { start: created.periodStart, end: created.periodEnd };

    // Step 1: 60 calls, below the first threshold (usage fees 60.00 < 100).
    await deliver('pb-1', period, ['60', 1]);
    expect(await progressiveOf('pb-1')).toEqual([]);
    // Step 2: 150 calls reach 100: an invoice for the 150.00 so far, + 10 % tax.
    await deliver('pb-1', period, ['150', 2]);
    const [first] = await expectEventually(async () => {
      const list = await progressiveOf('pb-1');
      expect(list).toHaveLength(1);
      return list;
    });
    expect(first).toMatchObject({ kind: 'progressive', status: 'finalized', periodStart: period.start, periodEnd: period.end, threshold: { amount: '100', levels: 1 } });
    expect(first.number).toMatch(/^INV-\d{6}$/);
    expect(first.document).toMatchObject({ subtotal: '150.00', taxableAmount: '150.00', tax: '15.00', total: '165.00', amountDue: '165.00' });
    expect(first.document.lines.map((l) => [l.kind, l.units, l.amount])).toEqual([['usage', '150', '150.00'], ['tax', null, '15.00']]);

    // Redelivered (same version) and stale (lower version) aggregates, and a replay at a higher version with
    // the same usage: nothing more is invoiced.
    await deliver('pb-1', period, ['150', 2], ['60', 1]);
    await deliver('pb-1', period, ['150', 3]);
    // Step 3: 620 calls reach 500: net of the 150.00 already billed.
    await deliver('pb-1', period, ['620', 4]);
    const second = await expectEventually(async () => {
      const list = await progressiveOf('pb-1');
      expect(list).toHaveLength(2);
      return list[1];
    });
    expect(second).toMatchObject({ status: 'finalized', threshold: { amount: '500', levels: 2 } });
    expect(second.document).toMatchObject({ subtotal: '470.00', taxableAmount: '470.00', tax: '47.00', total: '517.00' });
    expect(second.document.lines.map((l) => [l.kind, l.code, l.units, l.amount])).toEqual([
      ['usage', 'api-calls', '620', '620.00'],
      ['adjustment', 'progressive_billing', '1', '-150.00'],
      ['tax', 'tax', null, '47.00'],
    ]);
    // More usage but no threshold left: nothing; the same batch delivered again: nothing.
    await deliver('pb-1', period, ['800', 5]);
    await deliver('pb-1', period, ['800', 5], ['620', 4]);
    expect((await progressiveOf('pb-1')).map((i) => i.id)).toEqual([first.id, second.id]);

    // The period ends: its invoice bills the base fee and the whole period's 800 calls, net of the 620.00 billed progressively.
    const later = new Date(Date.parse(period.end) + 2 * HOUR);
    await subscriptions.rollPeriods(later);
    await invoices.closePeriods(later);
    const final = (await invoicesOf('pb-1')).find((i) => i.kind === 'period' && i.periodStart === period.start)!;
    expect(final.status).toBe('finalized');
    expect(final.document.lines.map((l) => [l.kind, l.code, l.units, l.amount])).toEqual([
      ['base_fee', 'pb', '1', '20.00'],
      ['usage', 'api-calls', '800', '800.00'],
      ['adjustment', 'progressive_billing', '2', '-620.00'],
      ['tax', 'tax', null, '20.00'],
    ]);
    expect(final.document.total).toBe('220.00');
    // 165 + 517 + 220 = 902 = (20 + 800) × 1.10: what the period costs without progressive billing.
    const sum = [first, second, final].reduce((s, i) => s + Math.round(Number(i.document.total) * 100), 0);
    expect(sum).toBe(90_200);
    // No progressive invoice after the period's invoice exists, even with usage far past any threshold.
    await deliver('pb-1', period, ['5000', 6]);
    expect((await invoicesOf('pb-1')).filter((i) => i.periodStart === period.start).map((i) => i.kind).sort()).toEqual(['period', 'progressive', 'progressive']);

    // Each invoice published once as finalized (one event id each).
    await expectEventually(() => {
      const finalized = collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.customer === 'pb-1' && m.value.status === 'finalized');
      expect(new Map(finalized.map((m) => [m.value.invoiceId, m.value.eventId])).size).toBe(3);
      expect(new Set(finalized.map((m) => m.value.eventId)).size).toBe(3);
      expect(finalized.filter((m) => m.value.invoiceId === second.id).map((m) => m.value.total)).toEqual(['517.00']);
    });
    // Reconciliation: the closed period's 5000 ledger units against the 800 invoiced — a late increase pending
    // the next invoice, not a progressive double count; the 800 themselves reconcile once, not three times.
    const range = `from=${new Date(Date.parse(period.start) - DAY).toISOString()}&to=${new Date(later.getTime() + DAY).toISOString()}`;
    const rec = await json<{ periodsAndMetersChecked: number; mismatches: ReconciliationMismatch[] }>(http(`/api/v1/billing/reconciliation?${range}`));
    expect(rec.periodsAndMetersChecked).toBe(1);
    expect(rec.mismatches).toEqual([expect.objectContaining({ ledgerUnits: '5000', invoicedUnits: '800', state: 'pending_next_invoice' })]);
  });

  it('reconciliation stays clean when usage stops at the progressive invoices', async () => {
    expect((await post('/api/v1/customers', { id: 'pb-2', name: 'Progressive Two', currency: 'EUR' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-pb-2', customer: 'pb-2', plan: 'pb', startAt: monthStart }));
    const period = { start: created.periodStart, end: created.periodEnd };
    // Both thresholds crossed by one aggregate: one invoice covering both levels.
    await deliver('pb-2', period, ['512.34', 1]);
    const [only] = await expectEventually(async () => {
      const list = await progressiveOf('pb-2');
      expect(list).toHaveLength(1);
      return list;
    });
    expect(only).toMatchObject({ threshold: { amount: '500', levels: 2 }, document: { total: '512.34' } });
    const later = new Date(Date.parse(period.end) + 2 * HOUR);
    await subscriptions.rollPeriods(later);
    await invoices.closePeriods(later);
    const final = (await invoicesOf('pb-2')).find((i) => i.kind === 'period' && i.periodStart === period.start)!;
    expect([final.status, final.document.total]).toEqual(['finalized', '20.00']);
    const range = `from=${new Date(Date.parse(period.start) - DAY).toISOString()}&to=${new Date(later.getTime() + DAY).toISOString()}`;
    const rec = await json<{ periodsAndMetersChecked: number; mismatches: ReconciliationMismatch[] }>(http(`/api/v1/billing/reconciliation?${range}`));
    expect(rec.mismatches.filter((m) => m.customer === 'pb-2')).toEqual([]);
    const billed = await suite.query<{ document_kind: string; units: string }>(`SELECT document_kind, units::text FROM "${suite.schema('billing')}".billed_usage WHERE customer = 'pb-2'`);
    expect(billed.map((b) => [b.document_kind, Number(b.units)])).toEqual([['invoice', 512.34]]);
  });

  it('an evaluation that throws for one customer is isolated: the batch and the other customers go on, the job retries it later', async () => {
    for (const id of ['pb-bad', 'pb-good']) {
      expect((await post('/api/v1/customers', { id, name: id, currency: 'EUR' })).status).toBe(201);
      expect((await post('/api/v1/subscriptions', { id: `sub-${id}`, customer: id, plan: 'pb', startAt: monthStart })).status).toBe(201);
    }
    const [{ periodStart, periodEnd }] = await suite.query<{ periodStart: Date; periodEnd: Date }>(
      `SELECT period_start AS "periodStart", period_end AS "periodEnd" FROM "${suite.schema('billing')}".billing_periods WHERE subscription_id = 'sub-pb-bad'`,
    );
    const period = { start: periodStart.toISOString(), end: periodEnd.toISOString() };
    // A stored time zone the runtime does not know (written past the API's check): pricing the period throws.
    await suite.query(`UPDATE "${suite.schema('billing')}".customers SET timezone = 'Mars/Olympus_Mons' WHERE customer_id = 'pb-bad'`);
    await suite.produce(TOPICS.usageAggregates, [
      { key: customerMeterKey(TENANT, 'pb-bad', 'api-calls'), value: aggregate('pb-bad', period, '300', 1) },
      { key: customerMeterKey(TENANT, 'pb-good', 'api-calls'), value: aggregate('pb-good', period, '300', 1) },
    ]);
    produced += 2;
    // Both customers' usage is applied (the batch committed) and the good one is invoiced at its threshold.
    await expectEventually(async () => {
      const rows = await suite.query<{ customer: string }>(`SELECT customer FROM "${suite.schema('billing')}".period_usage WHERE customer IN ('pb-bad', 'pb-good') AND version = 1 ORDER BY customer`);
      expect(rows.map((r) => r.customer)).toEqual(['pb-bad', 'pb-good']);
      expect((await progressiveOf('pb-good')).map((i) => i.threshold)).toEqual([{ amount: '100', levels: 1 }]);
    });
    expect(await progressiveOf('pb-bad')).toEqual([]);
    // The failure is recorded once for the customer, with the error and the next attempt.
    const failures = async () => (await json<{ data: JobFailureView[] }>(http('/api/v1/billing/job-failures?job=progressive-billing'))).data;
    const [failure] = await expectEventually(async () => {
      const list = await failures();
      expect(list).toHaveLength(1);
      return list;
    });
    expect(failure).toMatchObject({ job: 'progressive-billing', item: { customer: 'pb-bad' }, attempts: 1 });
    expect(failure.error).toContain('Mars/Olympus_Mons');

    // Fixed; a job run before the backoff is over leaves it alone, one after it issues the invoice and clears the record.
    await suite.query(`UPDATE "${suite.schema('billing')}".customers SET timezone = 'UTC' WHERE customer_id = 'pb-bad'`);
    const jobs = app.service.app.get(BillingJobsService);
    await jobs.tick(new Date(Date.parse(failure.nextAttemptAt) - 1));
    expect(await progressiveOf('pb-bad')).toEqual([]);
    await jobs.tick(new Date(Date.parse(failure.nextAttemptAt) + 1));
    const [late] = await progressiveOf('pb-bad');
    expect(late).toMatchObject({ status: 'finalized', threshold: { amount: '100', levels: 1 }, document: { subtotal: '300.00' } });
    expect(await failures()).toEqual([]);
    await expectEventually(() =>
      expect(collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.invoiceId === late.id).map((m) => m.value.status)).toEqual(['finalized']),
    );
    // Another run has nothing to retry and issues nothing more.
    await jobs.tick(new Date(Date.parse(failure.nextAttemptAt) + 2));
    expect((await progressiveOf('pb-bad')).map((i) => i.id)).toEqual([late.id]);
  });

  it('a plan change mid-period to other thresholds: the new plan decides, spend already invoiced is not invoiced again', async () => {
    // The new plan: 1.00 per call too, thresholds 50, 120 and 1000.
    expect((await post('/api/v1/plans', { ...plan, code: 'pb-other', name: 'Other thresholds', progressiveBilling: { thresholds: ['50', '120', '1000'] } })).status).toBe(201);
    expect((await post('/api/v1/customers', { id: 'pb-chg', name: 'Changer', currency: 'EUR' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-pb-chg', customer: 'pb-chg', plan: 'pb', startAt: monthStart }));
    const period = { start: created.periodStart, end: created.periodEnd };
    // On the old plan: 130 calls pass 100.
    await deliver('pb-chg', period, ['130', 1]);
    await expectEventually(async () => expect((await progressiveOf('pb-chg')).map((i) => i.threshold)).toEqual([{ amount: '100', levels: 1 }]));
    expect((await post('/api/v1/subscriptions/sub-pb-chg/change-plan', { plan: 'pb-other' })).status).toBe(200);
    // 140 reaches the new plan's 50 and 120, but 130 was invoiced already: nothing (counting levels, 2 > 1 would have invoiced 10.00).
    await deliver('pb-chg', period, ['140', 2]);
    await deliver('pb-chg', period, ['999', 3]);
    expect(await progressiveOf('pb-chg')).toHaveLength(1);
    // 1000: the new plan's next threshold; net of the 130 billed; the period's level count goes on (2).
    await deliver('pb-chg', period, ['1000', 4]);
    const list = await expectEventually(async () => {
      const l = await progressiveOf('pb-chg');
      expect(l).toHaveLength(2);
      return l;
    });
    expect(list[1]).toMatchObject({ threshold: { amount: '1000', levels: 2 }, document: { subtotal: '870.00', total: '870.00' } });
  });

  it('coupons and prepaid credits apply to progressive invoices as to any invoice; the period invoice nets the amounts before coupons', async () => {
    expect((await post('/api/v1/coupons', { code: 'pb-ten', name: 'Ten', kind: 'percentage', percent: '10', frequency: 'forever' })).status).toBe(201);
    expect((await post('/api/v1/customers', { id: 'pb-cc', name: 'Couponed', currency: 'EUR', taxRate: '10' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-pb-cc', customer: 'pb-cc', plan: 'pb', startAt: monthStart }));
    const period = { start: created.periodStart, end: created.periodEnd };
    expect((await post('/api/v1/customers/pb-cc/coupons', { coupon: 'pb-ten' })).status).toBe(201);
    expect((await post('/api/v1/customers/pb-cc/credits', { amount: '50' })).status).toBe(201);

    // 200 calls pass 100: 200.00, 10 % off, 10 % tax, then the 50.00 of credits.
    await deliver('pb-cc', period, ['200', 1]);
    const [first] = await expectEventually(async () => {
      const l = await progressiveOf('pb-cc');
      expect(l).toHaveLength(1);
      return l;
    });
    expect(first.document).toMatchObject({ subtotal: '200.00', discountTotal: '20.00', taxableAmount: '180.00', tax: '18.00', total: '198.00', creditsApplied: '50.00', amountDue: '148.00' });
    expect(await json(http('/api/v1/customers/pb-cc/credits'))).toEqual({ data: [{ currency: 'EUR', balance: '0.00' }] });
    // 600 calls pass 500: net of the 200.00 billed before the coupon (not of the 180.00 after it), 10 % off that.
    await deliver('pb-cc', period, ['600', 2]);
    const second = await expectEventually(async () => {
      const l = await progressiveOf('pb-cc');
      expect(l).toHaveLength(2);
      return l[1];
    });
    expect(second.document).toMatchObject({ subtotal: '400.00', discountTotal: '40.00', taxableAmount: '360.00', tax: '36.00', total: '396.00', creditsApplied: '0.00', amountDue: '396.00' });

    const later = new Date(Date.parse(period.end) + 2 * HOUR);
    await subscriptions.rollPeriods(later);
    await invoices.closePeriods(later);
    const final = (await invoicesOf('pb-cc')).find((i) => i.kind === 'period' && i.periodStart === period.start)!;
    expect(final.document.lines.map((l) => [l.kind, l.code, l.amount])).toEqual([
      ['base_fee', 'pb', '20.00'],
      ['usage', 'api-calls', '600.00'],
      ['adjustment', 'progressive_billing', '-600.00'],
      ['discount', 'coupon:pb-ten', '-2.00'],
      ['tax', 'tax', '1.80'],
    ]);
    // 198 + 396 + 19.80 = 613.80 = (20 + 600) × 0.9 × 1.1: the coupon took its 10 % of every invoice, once.
    const sum = [first, second, final].reduce((t, i) => t + Math.round(Number(i.document.total) * 100), 0);
    expect(sum).toBe(61_380);
  });
});
