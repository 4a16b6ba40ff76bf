import { randomUUID } from 'node:crypto';
import { customerKey, TOPICS, type DunningNotice, type PaymentReported, type PaymentRetryRequested } from '@tally/contracts';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import type { PlanDefinition } from './catalog/plan-definition';
import { InvoiceService, type InvoiceView } from './invoices/invoice.service';
import { PaymentRetryService } from './payments/payment-retry.service';
import { SubscriptionService } from './subscriptions/subscription.service';
import { pdfText } from './invoices/pdf-text.testing';

const TENANT = 'acme';
const KEY = 'key-revenue';
const OTHER_TENANT = 'globex';
const OTHER_KEY = 'key-revenue-globex';
const HOUR = 3_600_000;

const plan: PlanDefinition = {
  code: 'basic', name: 'Basic', interval: 'monthly', currency: 'EUR', baseFee: '20',
  charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' } }],
};

describe('billing revenue features (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let collector: TopicCollector;
  let invoices: InvoiceService;
  let subscriptions: SubscriptionService;
  let retries: PaymentRetryService;

  const http = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}, apiKey = KEY) => app.request(method, path, { body, headers, key: apiKey });

  beforeAll(async () => {
    app = await startBillingApp(suite, {
      keys: [{ tenant: TENANT, key: KEY }, { tenant: OTHER_TENANT, key: OTHER_KEY }],
      collect: [TOPICS.billingPaymentRetries, TOPICS.billingDunningNotices],
      config: { DUNNING_RETRY_DAYS: '1,3' },
    });
    collector = app.collector;
    invoices = app.service.app.get(InvoiceService);
    subscriptions = app.service.app.get(SubscriptionService);
    retries = app.service.app.get(PaymentRetryService);
    expect((await http('POST', '/api/v1/plans', plan)).status).toBe(201);
  });

  afterAll(() => stopBillingApp(app, suite));

  describe('Idempotency-Key on every POST', () => {
    it('replays the first answer (status, body) for the same request and creates nothing more', async () => {
      const key = { 'idempotency-key': randomUUID() };
      const customer = { id: 'i-1', name: 'Idem', currency: 'EUR' };
      expect((await http('POST', '/api/v1/customers', customer, key)).status).toBe(201);
      const sub = { customer: 'i-1', plan: 'basic' };
      const subKey = { 'idempotency-key': randomUUID() };
      const first = await http('POST', '/api/v1/subscriptions', sub, subKey);
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const firstBody = await first.text();
      const again = await http('POST', '/api/v1/subscriptions', { plan: 'basic', customer: 'i-1' }, subKey); // same body, other key order
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await again.text()).toBe(firstBody);
      expect((await json<{ data: unknown[] }>(http('GET', '/api/v1/customers/i-1/subscriptions'))).data).toHaveLength(1);

      // An update answered 200 replays as 200, not as the route's default 201.
      const updateKey = { 'idempotency-key': randomUUID() };
      expect((await http('POST', '/api/v1/customers', { ...customer, name: 'Idem 2' }, updateKey)).status).toBe(200);
      const replayed = await http('POST', '/api/v1/customers', { ...customer, name: 'Idem 2' }, updateKey);
      expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
    });

    it('refuses the key with another body or another route (422 problem+json) and a malformed key (400)', async () => {
      const key = { 'idempotency-key': `k-${randomUUID()}` };
      expect((await http('POST', '/api/v1/customers', { id: 'i-2', name: 'Two', currency: 'EUR' }, key)).status).toBe(201);
      for (const [path, body] of [['/api/v1/customers', { id: 'i-2', name: 'Two', currency: 'USD' }], ['/api/v1/plans', { ...plan, code: 'other' }]] as const) {
        const res = await http('POST', path, body, key);
        expect(res.status).toBe(422);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect((await json<{ detail: string }>(res)).detail).toMatch(/already used for a different request/);
      }
      expect((await http('GET', '/api/v1/plans/other')).status).toBe(404);
      const bad = await http('POST', '/api/v1/customers', { id: 'i-3', name: 'Three', currency: 'EUR' }, { 'idempotency-key': 'has space' });
      expect(bad.status).toBe(400);
      expect((await http('GET', '/api/v1/customers/i-3')).status).toBe(404);
    });

    it('does not remember an error: the retry with the same key runs once the cause is fixed', async () => {
      const key = { 'idempotency-key': randomUUID() };
      const body = { customer: 'i-4', plan: 'basic' };
      expect((await http('POST', '/api/v1/subscriptions', body, key)).status).toBe(404); // no customer yet
      await http('POST', '/api/v1/customers', { id: 'i-4', name: 'Four', currency: 'EUR' });
      expect((await http('POST', '/api/v1/subscriptions', body, key)).status).toBe(201);
      expect((await http('POST', '/api/v1/subscriptions', body, key)).headers.get('idempotent-replayed')).toBe('true');
      expect((await json<{ data: unknown[] }>(http('GET', '/api/v1/customers/i-4/subscriptions'))).data).toHaveLength(1);
    });

    it('runs concurrent requests with one key once', async () => {
      await http('POST', '/api/v1/customers', { id: 'i-5', name: 'Five', currency: 'EUR' });
      const key = { 'idempotency-key': randomUUID() };
      const answers = await Promise.all(Array.from({ length: 6 }, () => http('POST', '/api/v1/subscriptions', { customer: 'i-5', plan: 'basic' }, key)));
      const statuses = answers.map((a) => a.status);
      // The first runs; the others see it running (409) or replay its answer (201).
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      expect(answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
      expect((await json<{ data: unknown[] }>(http('GET', '/api/v1/customers/i-5/subscriptions'))).data).toHaveLength(1);
    });

    it('scopes keys per tenant and forgets them when they expire', async () => {
      const key = { 'idempotency-key': randomUUID() };
      const body = { id: 'i-6', name: 'Six', currency: 'EUR' };
      expect((await http('POST', '/api/v1/customers', body, key)).status).toBe(201);
      // The same key in another tenant is another request.
      const other = await http('POST', '/api/v1/customers', body, key, OTHER_KEY);
      expect([other.status, other.headers.get('idempotent-replayed')]).toEqual([201, null]);
      // Expired: the key is free again (its new request runs, here an update of the customer).
      await suite.query(`UPDATE "${suite.schema('billing')}".idempotent_requests SET expires_at = now() - interval '1 second' WHERE tenant = $1 AND key = $2`, [TENANT, key['idempotency-key']]);
      const afterExpiry = await http('POST', '/api/v1/customers', { ...body, name: 'Six again' }, key);
      expect([afterExpiry.status, afterExpiry.headers.get('idempotent-replayed')]).toEqual([200, null]);
      expect((await json<{ name: string }>(http('GET', '/api/v1/customers/i-6'))).name).toBe('Six again');
    });
  });

  it('requests each scheduled payment retry once at nextPaymentAttemptAt and sends dunning notices', async () => {
    const now = new Date();
    await http('POST', '/api/v1/customers', { id: 'd-1', name: 'Dunned', currency: 'EUR', billingEmail: 'ap@dunned.example' });
    const sub = await subscriptions.create(TENANT, { customer: 'd-1', plan: 'basic', startAt: new Date(now.getTime() - 3 * HOUR).toISOString() }, new Date(now.getTime() - 3 * HOUR));
    await subscriptions.cancel(TENANT, sub.subscriptionId, { atPeriodEnd: false }, new Date(now.getTime() - 2 * HOUR));
    await invoices.closePeriods(now);
    const [invoice] = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/d-1/invoices'))).data;
    expect(invoice.status).toBe('finalized');
    const fail = async (at: Date) => {
      const value: PaymentReported = { eventId: randomUUID(), occurredAt: at.toISOString(), tenant: TENANT, customer: 'd-1', invoiceId: invoice.id, outcome: 'failed', amount: invoice.document.amountDue };
      await suite.produce(TOPICS.billingPayments, [{ key: customerKey(TENANT, 'd-1'), value }]);
    };
    const retryRequests = () => collector.on<PaymentRetryRequested>(TOPICS.billingPaymentRetries).filter((m) => m.value.invoiceId === invoice.id).map((m) => m.value);
    const notices = () => collector.on<DunningNotice>(TOPICS.billingDunningNotices).filter((m) => m.value.customer === 'd-1').map((m) => m.value);

    const firstFailure = new Date();
    await fail(firstFailure);
    const retryAt = new Date(firstFailure.getTime() + 24 * HOUR);
    await expectEventually(async () => expect((await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).nextPaymentAttemptAt).toBe(retryAt.toISOString()));
    await expectEventually(() => expect(notices().map((n) => n.notice)).toEqual(['payment_failed', 'account_past_due']));
    expect(notices()[0]).toMatchObject({ billingEmail: 'ap@dunned.example', invoiceNumber: invoice.number, amountDue: invoice.document.amountDue, paymentAttempts: 1, nextPaymentAttemptAt: retryAt.toISOString() });

    // Not before the time; at it, once (a second run or a concurrent one requests nothing more).
    expect(await retries.requestDueRetries(new Date(retryAt.getTime() - 1))).toBe(0);
    const runs = await Promise.all([retries.requestDueRetries(retryAt), retries.requestDueRetries(retryAt)]);
    expect(runs[0] + runs[1]).toBe(1);
    expect(await retries.requestDueRetries(new Date(retryAt.getTime() + HOUR))).toBe(0);
    await expectEventually(() => expect(retryRequests()).toHaveLength(1));
    expect(retryRequests()[0]).toMatchObject({ attempt: 2, invoiceNumber: invoice.number, amountDue: invoice.document.amountDue, currency: 'EUR', scheduledAt: retryAt.toISOString() });

    // The retry fails too: attempt 3 three days later; that one fails and the schedule ("1,3") is used up.
    await fail(retryAt);
    const thirdAt = new Date(retryAt.getTime() + 72 * HOUR);
    await expectEventually(async () => expect((await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).paymentAttempts).toBe(2));
    expect(await retries.requestDueRetries(thirdAt)).toBe(1);
    await fail(thirdAt);
    await expectEventually(async () => expect((await json<InvoiceView>(http('GET', `/api/v1/invoices/${invoice.id}`))).nextPaymentAttemptAt).toBeNull());
    expect(await retries.requestDueRetries(new Date(thirdAt.getTime() + 30 * 24 * HOUR))).toBe(0);
    await expectEventually(() => expect(notices().map((n) => n.notice)).toEqual(['payment_failed', 'account_past_due', 'payment_failed', 'final_notice']));
    await expectEventually(() => expect(retryRequests().map((r) => r.attempt)).toEqual([2, 3]));

    // Time makes the account delinquent: one more notice.
    await invoices.runDunning(new Date(firstFailure.getTime() + 31 * 24 * HOUR));
    await expectEventually(() => expect(notices().map((n) => n.notice).slice(-1)).toEqual(['account_delinquent']));
  });

  it('numbers invoices in the tenant format, gap-free, and serves each invoice as a PDF with the content of the HTML', async () => {
    expect(await json(http('GET', '/api/v1/billing/invoice-numbering', undefined, {}, OTHER_KEY))).toEqual({ prefix: 'INV', includeYear: false, digits: 6 });
    const bad = await http('POST', '/api/v1/billing/invoice-numbering', { prefix: 'AC-ME', digits: 0 }, {}, OTHER_KEY);
    expect(bad.status).toBe(400);
    expect((await json<{ errors: Array<{ pointer: string }> }>(bad)).errors.map((e) => e.pointer).sort()).toEqual(['/digits', '/prefix']);
    expect(await json(http('POST', '/api/v1/billing/invoice-numbering', { prefix: 'GLOBEX', includeYear: true }, {}, OTHER_KEY))).toEqual({ prefix: 'GLOBEX', includeYear: true, digits: 6 });
    expect((await http('POST', '/api/v1/plans', plan, {}, OTHER_KEY)).status).toBe(201);
    // Three customers of the other tenant, one in Tokyo where the year turned before it did in UTC.
    const closeAt = new Date('2027-01-01T02:00:00Z');
    for (const [id, timezone] of [['n-1', 'UTC'], ['n-2', 'Asia/Tokyo'], ['n-3', 'UTC']]) {
      expect((await http('POST', '/api/v1/customers', { id, name: `Numbered ${id} 上海`, currency: 'EUR', timezone, taxRate: '19' }, {}, OTHER_KEY)).status).toBe(201);
      await subscriptions.create(OTHER_TENANT, { customer: id, plan: 'basic', startAt: '2026-12-01T00:00:00Z' }, new Date('2026-12-01T00:00:00Z'));
    }
    await subscriptions.rollPeriods(closeAt);
    await invoices.closePeriods(closeAt);
    const numbers: string[] = [];
    for (const id of ['n-1', 'n-2', 'n-3']) numbers.push(...(await json<{ data: InvoiceView[] }>(http('GET', `/api/v1/customers/${id}/invoices`, undefined, {}, OTHER_KEY))).data.map((i) => i.number!));
    // One sequence for the tenant, gap-free (1, 2, 3 in some order); the year in each customer's time zone.
    expect(numbers.map((n) => n.slice(-6)).sort()).toEqual(['000001', '000002', '000003']);
    expect(numbers.map((n) => n.slice(0, 12))).toEqual(['GLOBEX-2027-', 'GLOBEX-2027-', 'GLOBEX-2027-']);
    // Not affected: the first tenant keeps its own sequence and format.
    expect((await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/d-1/invoices'))).data[0].number).toBe('INV-000001');

    const [invoice] = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/n-2/invoices', undefined, {}, OTHER_KEY))).data;
    const byPath = await http('GET', `/api/v1/invoices/${invoice.id}.pdf`, undefined, {}, OTHER_KEY);
    expect(byPath.status).toBe(200);
    expect(byPath.headers.get('content-type')).toMatch(/^application\/pdf\b/);
    expect(byPath.headers.get('content-disposition')).toBe(`inline; filename="invoice-${invoice.number}.pdf"`);
    const pdf = Buffer.from(await byPath.arrayBuffer());
    const byAccept = Buffer.from(await (await http('GET', `/api/v1/invoices/${invoice.id}`, undefined, { accept: 'application/pdf' }, OTHER_KEY)).arrayBuffer());
    expect(byAccept.equals(pdf)).toBe(true);
    const { text } = await pdfText(pdf);
    expect(text).toContain(`Invoice ${invoice.number}`);
    expect(text).toContain('Numbered n-2 ?? (n-2)');
    expect(text).toContain(`Total\n${invoice.document.total} EUR`);
    expect(text).toContain(`Amount due\n${invoice.document.amountDue} EUR`);
    // The same facts as the HTML.
    const html = await (await http('GET', `/api/v1/invoices/${invoice.id}`, undefined, { accept: 'text/html' }, OTHER_KEY)).text();
    for (const line of invoice.document.lines) {
      expect(html).toContain(`${line.amount} EUR`);
      expect(text).toContain(`${line.amount} EUR`);
    }
    // Tenants stay apart: the first tenant cannot read it in any form.
    expect((await http('GET', `/api/v1/invoices/${invoice.id}.pdf`)).status).toBe(404);
  });

  it('coupons: defined and applied over the API, deducted before tax in Lago\'s order, a fixed coupon\'s unused part carried to the next invoice', async () => {
    const welcome = { code: 'welcome', name: 'Welcome', kind: 'fixed_amount', amount: '30', currency: 'EUR', frequency: 'once' };
    expect((await http('POST', '/api/v1/coupons', welcome)).status).toBe(201);
    expect((await http('POST', '/api/v1/coupons', welcome)).status).toBe(200);
    expect((await http('POST', '/api/v1/coupons', { ...welcome, amount: '31' })).status).toBe(409);
    const bad = await http('POST', '/api/v1/coupons', { code: 'x', name: 'X', kind: 'percentage', frequency: 'recurring' });
    expect(bad.status).toBe(400);
    expect((await json<{ errors: Array<{ pointer: string }> }>(bad)).errors.map((e) => e.pointer).sort()).toEqual(['/percent', '/periods']);
    const basicOnly = { code: 'basic10', name: 'Basic 10 %', kind: 'percentage', percent: '10', frequency: 'recurring', periods: 2, planCodes: ['basic'] };
    expect((await http('POST', '/api/v1/coupons', basicOnly)).status).toBe(201);
    expect((await http('POST', '/api/v1/coupons', { code: 'old', name: 'Old', kind: 'percentage', percent: '5', frequency: 'forever', expiresAt: '2020-01-01T00:00:00Z' })).status).toBe(201);

    await http('POST', '/api/v1/customers', { id: 'cp-1', name: 'Couponed', currency: 'EUR', taxRate: '20' });
    const sub = await subscriptions.create(TENANT, { customer: 'cp-1', plan: 'basic', startAt: '2026-05-01T00:00:00Z' }, new Date('2026-05-01T00:00:00Z'));
    expect((await http('POST', '/api/v1/customers/cp-1/coupons', { coupon: 'welcome' })).status).toBe(201);
    expect((await http('POST', '/api/v1/customers/cp-1/coupons', { coupon: 'basic10', subscriptionId: sub.subscriptionId })).status).toBe(201);
    expect((await http('POST', '/api/v1/customers/cp-1/coupons', { coupon: 'old' })).status).toBe(409);
    expect((await http('POST', '/api/v1/customers/cp-1/coupons', { coupon: 'nope' })).status).toBe(404);
    expect((await http('POST', '/api/v1/customers/cp-1/coupons', { coupon: 'welcome', subscriptionId: 'someone-elses' })).status).toBe(404);

    // May: base fee 20. The plan-limited coupon first (Lago): 10 % = 2.00; then welcome takes the 18.00 left; tax 0.
    await subscriptions.rollPeriods(new Date('2026-06-01T02:00:00Z'));
    await invoices.closePeriods(new Date('2026-06-01T02:00:00Z'));
    const may = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/cp-1/invoices'))).data.find((i) => i.periodStart === '2026-05-01T00:00:00.000Z')!;
    expect(may.status).toBe('paid'); // nothing to pay
    expect(may.document.lines.filter((l) => l.kind === 'discount').map((l) => [l.code, l.amount])).toEqual([['coupon:basic10', '-2.00'], ['coupon:welcome', '-18.00']]);
    expect(may.document).toMatchObject({ subtotal: '20.00', discountTotal: '20.00', taxableAmount: '0.00', tax: '0.00', total: '0.00' });
    const afterMay = await json<{ data: Array<{ coupon: { code: string }; status: string; amountRemaining: string | null; periodsRemaining: number | null }> }>(http('GET', '/api/v1/customers/cp-1/coupons'));
    expect(afterMay.data.map((a) => [a.coupon.code, a.status, a.amountRemaining, a.periodsRemaining])).toEqual([['welcome', 'active', '12', null], ['basic10', 'active', null, 1]]);

    // June: 20; 10 % = 2.00; welcome's remaining 12.00; 6.00 taxed at 20 %: 7.20. Both coupons end.
    await subscriptions.rollPeriods(new Date('2026-07-01T02:00:00Z'));
    await invoices.closePeriods(new Date('2026-07-01T02:00:00Z'));
    const june = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/cp-1/invoices'))).data.find((i) => i.periodStart === '2026-06-01T00:00:00.000Z')!;
    expect(june.document.lines.filter((l) => l.kind === 'discount').map((l) => l.amount)).toEqual(['-2.00', '-12.00']);
    expect(june.document).toMatchObject({ taxableAmount: '6.00', tax: '1.20', total: '7.20', amountDue: '7.20' });
    const afterJune = await json<{ data: Array<{ status: string }> }>(http('GET', '/api/v1/customers/cp-1/coupons'));
    expect(afterJune.data.map((a) => a.status)).toEqual(['terminated', 'terminated']);

    // July: no coupon left.
    await subscriptions.rollPeriods(new Date('2026-08-01T02:00:00Z'));
    await invoices.closePeriods(new Date('2026-08-01T02:00:00Z'));
    const july = (await json<{ data: InvoiceView[] }>(http('GET', '/api/v1/customers/cp-1/invoices'))).data.find((i) => i.periodStart === '2026-07-01T00:00:00.000Z')!;
    expect(july.document).toMatchObject({ discountTotal: '0.00', total: '24.00' });
  });
});
