import { randomUUID } from 'node:crypto';
import { customerKey, customerMeterKey, dlqTopicFor, TOPICS, type InvoiceChanged, type PaymentReported, type UsageAggregate } from '@tally/contracts';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import type { PlanDefinition } from './catalog/plan-definition';
import { InvoiceService, type InvoiceView } from './invoices/invoice.service';
import type { JobFailureView } from './jobs/job-failures.service';
import { SubscriptionService } from './subscriptions/subscription.service';

const TENANT = 'acme';
const KEY = 'key-billing-jobs';
const OTHER_TENANT = 'globex';
const OTHER_KEY = 'key-billing-jobs-globex';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const plan: PlanDefinition = {
  code: 'basic',
  name: 'Basic',
  interval: 'monthly',
  currency: 'EUR',
  baseFee: '10',
  charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' } }],
};

describe('billing jobs isolate failures; money-moving requests apply once (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let collector: TopicCollector;
  let invoices: InvoiceService;
  let subscriptions: SubscriptionService;
  const schema = () => `"${suite.schema('billing')}"`;

  const http = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, key = KEY) => app.request(method, path, { body, headers, key });
  const failures = async (key = KEY, query = '') => (await json<{ data: JobFailureView[] }>(http('GET', `/api/v1/billing/job-failures${query}`, undefined, {}, key))).data;
  const metric = async (name: string, job: string): Promise<number> => {
    const text = await (await fetch(`${app.base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{job="${job}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const invoicesOf = async (customer: string) => (await json<{ data: InvoiceView[] }>(http('GET', `/api/v1/customers/${customer}/invoices`))).data;

  beforeAll(async () => {
    // The job timer is left to the tests (explicit clocks); grace is one hour; the default backoff (1 min, doubling).
    app = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }, { tenant: OTHER_TENANT, key: OTHER_KEY }], collect: [TOPICS.billingInvoices] });
    collector = app.collector;
    invoices = app.service.app.get(InvoiceService);
    subscriptions = app.service.app.get(SubscriptionService);
    expect((await http('POST', '/api/v1/plans', plan)).status).toBe(201);
  });

  afterAll(() => stopBillingApp(app, suite));

  it('a period that cannot close is recorded, listed and metered while the others close; once fixed, it closes exactly once', async () => {
    const start = '2027-03-01T00:00:00.000Z';
    for (const c of ['j-bad', 'j-negative', 'j-ok']) {
      expect((await http('POST', '/api/v1/customers', { id: c, name: c, currency: 'EUR' })).status).toBe(201);
      await subscriptions.create(TENANT, { id: `sub-${c}`, customer: c, plan: 'basic', startAt: start }, new Date(start));
    }
    // A meter that sums negative values (ingestion accepts them from meters that allow it) must not stop the close.
    const usage = (customer: string, value: string): { key: string; value: UsageAggregate } => ({
      key: customerMeterKey(TENANT, customer, 'api-calls'),
      value: {
        eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter: 'api-calls', windowKind: 'PERIOD',
        windowStart: start, windowEnd: '2027-04-01T00:00:00.000Z', value, eventCount: 3, lastEventTime: start, version: 1,
      },
    });
    await suite.produce(TOPICS.usageAggregates, [usage('j-negative', '-250.5'), usage('j-ok', '1000')]);
    await expectEventually(async () => {
      const rows = await suite.query<{ customer: string; value: string }>(`SELECT customer, value::text FROM ${schema()}.period_usage ORDER BY customer`);
      expect(rows).toEqual([{ customer: 'j-negative', value: '-250.5' }, { customer: 'j-ok', value: '1000' }]);
    });
    // The broken item: its period points at a plan version that does not exist (as a bad manual fix would leave it).
    await suite.query(`UPDATE ${schema()}.billing_periods SET plan_version = 99 WHERE subscription_id = 'sub-j-bad'`);

    const t0 = new Date('2027-04-01T02:00:00.000Z');
    expect(await subscriptions.rollPeriods(t0)).toBe(3);
    expect(await invoices.closePeriods(t0)).toEqual({ drafted: 0, finalized: 2, failed: 1 });

    // Every other period went through: base fee 10; the negative quantity shown and priced as zero units.
    const [negative] = await invoicesOf('j-negative');
    expect(negative).toMatchObject({ status: 'finalized', number: 'INV-000001' });
    expect(negative.document.lines.map((l) => [l.kind, l.units, l.amount])).toEqual([['base_fee', '1', '10.00'], ['usage', '-250.5', '0.00'], ['tax', null, '0.00']]);
    expect(negative.document.lines[1].breakdown[0].description).toBe('Negative quantity -250.5 charged as 0');
    expect(negative.document.total).toBe('10.00');
    expect((await invoicesOf('j-ok'))[0]).toMatchObject({ status: 'finalized', number: 'INV-000002', document: { total: '20.00' } });
    expect(await invoicesOf('j-bad')).toEqual([]);

    const expectedFailure = {
      job: 'close-period',
      item: { subscriptionId: 'sub-j-bad', periodStart: start },
      error: 'plan "basic" version 99 of the period is missing',
      attempts: 1,
      firstFailedAt: t0.toISOString(),
      lastFailedAt: t0.toISOString(),
      nextAttemptAt: new Date(t0.getTime() + MINUTE).toISOString(),
    };
    expect(await failures()).toEqual([expectedFailure]);
    expect(await failures(KEY, '?job=close-period')).toEqual([expectedFailure]);
    expect(await failures(KEY, '?job=dunning')).toEqual([]);
    expect(await failures(OTHER_KEY)).toEqual([]); // tenant-scoped
    const bad = await http('GET', '/api/v1/billing/job-failures?job=nope');
    expect([bad.status, bad.headers.get('content-type')]).toEqual([400, expect.stringContaining('application/problem+json')]);
    expect(await metric('tally_billing_job_failures_total', 'close-period')).toBe(1);
    expect(await metric('tally_billing_job_items_failing', 'close-period')).toBe(1);
    expect(await metric('tally_billing_job_items_failing', 'roll-period')).toBe(0);

    // Inside its backoff it is not tried; after it, tried again and still failing: the wait doubles.
    expect(await invoices.closePeriods(new Date(t0.getTime() + 30_000))).toEqual({ drafted: 0, finalized: 0, failed: 0 });
    const t1 = new Date(t0.getTime() + MINUTE);
    expect(await invoices.closePeriods(t1)).toEqual({ drafted: 0, finalized: 0, failed: 1 });
    expect(await failures()).toEqual([{ ...expectedFailure, attempts: 2, lastFailedAt: t1.toISOString(), nextAttemptAt: new Date(t1.getTime() + 2 * MINUTE).toISOString() }]);
    expect(await metric('tally_billing_job_failures_total', 'close-period')).toBe(2);

    // The cause fixed: the next attempt closes it, clears the record, and it is invoiced once.
    await suite.query(`UPDATE ${schema()}.billing_periods SET plan_version = 1 WHERE subscription_id = 'sub-j-bad'`);
    const t2 = new Date(t0.getTime() + 10 * MINUTE);
    expect(await invoices.closePeriods(t2)).toEqual({ drafted: 0, finalized: 1, failed: 0 });
    expect(await invoices.closePeriods(new Date(t0.getTime() + HOUR))).toEqual({ drafted: 0, finalized: 0, failed: 0 });
    expect(await failures()).toEqual([]);
    expect(await metric('tally_billing_job_items_failing', 'close-period')).toBe(0);
    const closed = await invoicesOf('j-bad');
    expect(closed.map((i) => [i.status, i.number, i.periodStart, i.document.total])).toEqual([['finalized', 'INV-000003', start, '10.00']]);

    // Exactly one invoice event for it was written and published.
    await expectEventually(async () => {
      const [pending] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema()}.outbox WHERE published_at IS NULL`);
      expect(pending.n).toBe(0);
      expect(collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.subscriptionId === 'sub-j-bad').map((m) => m.value.status)).toEqual(['finalized']);
    });
    const [written] = await suite.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema()}.outbox WHERE topic = $1 AND (value::jsonb ->> 'subscriptionId') = 'sub-j-bad'`,
      [suite.topic(TOPICS.billingInvoices)],
    );
    expect(written.n).toBe(1);
  });

  it('a subscription whose period cannot roll is recorded while the others roll; it rolls once fixed', async () => {
    const start = '2027-06-01T00:00:00.000Z';
    for (const c of ['j-roll-bad', 'j-roll-ok']) {
      await http('POST', '/api/v1/customers', { id: c, name: c, currency: 'EUR' });
      await subscriptions.create(TENANT, { id: `sub-${c}`, customer: c, plan: 'basic', startAt: start }, new Date(start));
    }
    // A time zone this runtime does not know (a row edited by hand, or a zone dropped by a newer ICU).
    await suite.query(`UPDATE ${schema()}.customers SET timezone = 'Mars/Olympus_Mons' WHERE customer_id = 'j-roll-bad'`);
    const periodOf = async (id: string) => (await json<{ periodStart: string }>(http('GET', `/api/v1/subscriptions/${id}`))).periodStart;

    const t0 = new Date('2027-07-01T02:00:00.000Z');
    await subscriptions.rollPeriods(t0);
    expect(await periodOf('sub-j-roll-ok')).toBe('2027-07-01T00:00:00.000Z');
    expect(await periodOf('sub-j-roll-bad')).toBe(start);
    expect(await failures(KEY, '?job=roll-period')).toEqual([
      expect.objectContaining({ job: 'roll-period', item: { subscriptionId: 'sub-j-roll-bad' }, error: expect.stringMatching(/^RangeError: .*Mars\/Olympus_Mons/), attempts: 1 }),
    ]);
    expect(await metric('tally_billing_job_items_failing', 'roll-period')).toBe(1);

    await suite.query(`UPDATE ${schema()}.customers SET timezone = 'UTC' WHERE customer_id = 'j-roll-bad'`);
    await subscriptions.rollPeriods(new Date(t0.getTime() + MINUTE));
    expect(await periodOf('sub-j-roll-bad')).toBe('2027-07-01T00:00:00.000Z');
    expect(await failures(KEY, '?job=roll-period')).toEqual([]);
    expect(await metric('tally_billing_job_items_failing', 'roll-period')).toBe(0);
  });

  it('refuses plan values that would overflow downstream with a 400 naming each field', async () => {
    const res = await http('POST', '/api/v1/plans', {
      ...plan,
      code: 'huge',
      baseFee: '10000000000000',
      charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '5', thresholds: [50, 2_147_483_648] }],
    });
    expect([res.status, res.headers.get('content-type')]).toEqual([400, expect.stringContaining('application/problem+json')]);
    expect((await json<{ errors: Array<{ pointer: string }> }>(res)).errors.map((e) => e.pointer)).toEqual(['/baseFee', '/charges/0/thresholds/1']);
    expect((await http('GET', '/api/v1/plans/huge')).status).toBe(404);
  });

  it('a credit grant with an Idempotency-Key is applied once; the key reused for another request is refused', async () => {
    for (const c of ['j-credit', 'j-credit-2']) await http('POST', '/api/v1/customers', { id: c, name: c, currency: 'EUR' });
    const grant = (body: unknown, key?: string, customer = 'j-credit', apiKey = KEY) =>
      http('POST', `/api/v1/customers/${customer}/credits`, body, key === undefined ? {} : { 'idempotency-key': key }, apiKey);

    const first = await grant({ amount: '10', reason: 'promo' }, 'grant-1');
    expect([first.status, first.headers.get('idempotent-replayed'), await first.json()]).toEqual([201, null, { currency: 'EUR', balance: '10' }]);
    // The same request again (a client retry), also with the body's keys in another order: the first answer, nothing granted.
    for (const body of [{ amount: '10', reason: 'promo' }, { reason: 'promo', amount: '10' }]) {
      const again = await grant(body, 'grant-1');
      expect([again.status, again.headers.get('idempotent-replayed'), await again.json()]).toEqual([201, 'true', { currency: 'EUR', balance: '10' }]);
    }

    // Five retries at once with a new key: one grant, five identical answers.
    const racing = await Promise.all(Array.from({ length: 5 }, () => grant({ amount: '5', currency: 'EUR' }, 'grant-2')));
    expect(racing.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(await Promise.all(racing.map(async (r) => JSON.stringify(await r.json()))))).toEqual(new Set([JSON.stringify({ currency: 'EUR', balance: '15' })]));
    expect(await json(http('GET', '/api/v1/customers/j-credit/credits'))).toEqual({ data: [{ currency: 'EUR', balance: '15' }] });

    // The key with another amount, or for another customer: 422, problem+json, nothing granted.
    for (const refused of [await grant({ amount: '11', reason: 'promo' }, 'grant-1'), await grant({ amount: '10' }, 'grant-1'), await grant({ amount: '10', reason: 'promo' }, 'grant-1', 'j-credit-2')]) {
      expect([refused.status, refused.headers.get('content-type')]).toEqual([422, expect.stringContaining('application/problem+json')]);
      expect(await refused.json()).toMatchObject({ status: 422, detail: expect.stringContaining('already used for a different request') });
    }
    expect(await json(http('GET', '/api/v1/customers/j-credit-2/credits'))).toEqual({ data: [] });
    // A malformed key is a 400; keys are per tenant (another tenant's "grant-1" is its own).
    expect((await grant({ amount: '1' }, 'two words')).status).toBe(400);
    await http('POST', '/api/v1/customers', { id: 'j-credit', name: 'Globex customer', currency: 'USD' }, {}, OTHER_KEY);
    expect(await json(grant({ amount: '10' }, 'grant-1', 'j-credit', OTHER_KEY))).toEqual({ currency: 'USD', balance: '10' });

    const [transactions] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema()}.credit_transactions WHERE tenant = $1 AND customer = 'j-credit'`, [TENANT]);
    expect(transactions.n).toBe(2);
  });

  it('a payment is applied once per payment id: a re-sent report does nothing, the same id saying otherwise goes to the DLQ', async () => {
    const now = new Date();
    await http('POST', '/api/v1/customers', { id: 'j-pay', name: 'Payer', currency: 'EUR' });
    const sub = await subscriptions.create(TENANT, { customer: 'j-pay', plan: 'basic', startAt: new Date(now.getTime() - 3 * HOUR).toISOString() }, new Date(now.getTime() - 3 * HOUR));
    await subscriptions.cancel(TENANT, sub.subscriptionId, { atPeriodEnd: false }, new Date(now.getTime() - 2 * HOUR));
    await invoices.closePeriods(now);
    const [invoice] = await invoicesOf('j-pay');
    expect(invoice.status).toBe('finalized');
    const due = invoice.document.amountDue;

    const dlq = await suite.collect([dlqTopicFor(TOPICS.billingPayments)]);
    const payment = (paymentId: string, outcome: PaymentReported['outcome'], amount = due): { key: string; value: PaymentReported } => ({
      key: customerKey(TENANT, 'j-pay'),
      value: { eventId: randomUUID(), occurredAt: now.toISOString(), tenant: TENANT, customer: 'j-pay', paymentId, invoiceId: invoice.id, outcome, amount },
    });
    const consumed = async () => {
      const [row] = await suite.query<{ n: number }>(
        `SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${schema()}.consumer_offsets WHERE topic = $1`,
        [suite.topic(TOPICS.billingPayments)],
      );
      return row.n;
    };
    // pay-1 failed, then re-sent (a new event id, the same payment), then the same id claiming success; pay-2 failed.
    await suite.produce(TOPICS.billingPayments, [payment('pay-1', 'failed'), payment('pay-1', 'failed'), payment('pay-1', 'succeeded'), payment('pay-2', 'failed')]);
    await expectEventually(async () => expect(await consumed()).toBe(4));
    expect(await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).toMatchObject({ status: 'payment_failed', paymentAttempts: 2 });

    // pay-3 succeeds, and is re-sent: paid once, the repeat neither fails nor dead-letters.
    await suite.produce(TOPICS.billingPayments, [payment('pay-3', 'succeeded'), payment('pay-3', 'succeeded')]);
    await expectEventually(async () => expect(await consumed()).toBe(6));
    expect(await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).toMatchObject({ status: 'paid', paymentAttempts: 2 });
    const [dead] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema()}.outbox WHERE topic = $1`, [suite.topic(dlqTopicFor(TOPICS.billingPayments))]);
    expect(dead.n).toBe(1);
    await expectEventually(() =>
      expect(dlq.on<{ reason: string }>(dlqTopicFor(TOPICS.billingPayments)).map((m) => m.value.reason)).toEqual([
        `payment "pay-1" was already applied as failed of ${due} for invoice "${invoice.id}"; this report says succeeded of ${due} for invoice "${invoice.id}"`,
      ]),
    );
    const applied = await suite.query<{ payment_id: string; outcome: string }>(`SELECT payment_id, outcome FROM ${schema()}.applied_payments WHERE customer = 'j-pay' ORDER BY payment_id`);
    expect(applied).toEqual([{ payment_id: 'pay-1', outcome: 'failed' }, { payment_id: 'pay-2', outcome: 'failed' }, { payment_id: 'pay-3', outcome: 'succeeded' }]);
  });
});
