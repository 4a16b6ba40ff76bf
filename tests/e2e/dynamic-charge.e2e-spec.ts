import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { MeterCatalogService } from '../../apps/ingestion/src/meters/meter-catalog.service';
import { billingService } from '../../apps/billing/src/billing.service';
import { InvoiceService, type InvoiceView } from '../../apps/billing/src/invoices/invoice.service';
import { UsageCorrectionsService } from '../../apps/billing/src/invoices/usage-corrections.service';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';

const TENANT = 'dynamic';
const HOUR = 3_600_000;

/**
 * Lago's `dynamic` charge fed by period usage (catalog/dynamic-charge.ts), from events to the invoice on real
 * Kafka and Postgres: events carrying units (`tokens`) and an amount (`precise_total_amount`) go through
 * ingestion's HTTP API; aggregation sums them into two meters; billing prices the charge on `tokens` with the
 * `llm-cost` meter's period usage as the events' amount total, on the upcoming invoice and the period's invoice.
 */
describe('dynamic charge: the amounts events carry, summed by an amount meter, billed (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const apps: ServiceApp[] = [];
  let ingestionBase = '';
  let billingBase = '';
  let key = '';
  let n = 0;

  beforeAll(async () => {
    await suite.createTopics();
    const configs = [
      suite.serviceConfig(ingestionService, { ADMIN_TOKEN: 'dynamic-admin-token-0123456789' }),
      suite.serviceConfig(aggregationService),
      // The test is billing's clock: its own timer must not run the jobs meanwhile.
      suite.serviceConfig(billingService, { BILLING_JOB_INTERVAL_MS: String(24 * HOUR) }),
    ];
    for (const [i, definition] of [ingestionService, aggregationService, billingService].entries()) {
      const service = await createServiceApp(definition, configs[i]);
      await service.app.listen(0, '127.0.0.1');
      apps.push(service);
    }
    ingestionBase = (await apps[0].app.getUrl()).replace('[::1]', '127.0.0.1');
    billingBase = (await apps[2].app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    for (const { app } of apps.reverse()) await app.close();
    await suite.cleanup();
  });

  const billingApi = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> & { data?: unknown } }> => {
    const res = await fetch(`${billingBase}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> & { data?: unknown } };
  };

  const send = async (customer: string, events: Array<{ tokens: number; amount: number | string }>): Promise<void> => {
    const body = events.map((e) => ({
      specversion: '1.0', id: `${customer}-${(n += 1)}`, source: 'dynamic-it', type: 'llm.call', subject: customer, time: new Date().toISOString(),
      datacontenttype: 'application/json', data: { tokens: e.tokens, precise_total_amount: e.amount },
    }));
    const res = await fetch(`${ingestionBase}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(body),
    });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { accepted: events.length } });
  };

  const periodUsage = async (customer: string) =>
    Object.fromEntries(
      (await suite.query<{ meter: string; value: string }>(`SELECT meter, value::text FROM "${suite.schema('billing')}".period_usage WHERE customer = $1`, [customer])).map((r) => [r.meter, r.value]),
    );

  it('bills the summed amounts of a period with units, nothing for a period with 0 units; the upcoming invoice shows it so far', async () => {
    const ingestion = apps[0].app;
    await ingestion.get(ApiKeyService).createTenant(TENANT, 'Dynamic');
    key = (await ingestion.get(ApiKeyService).createKey(TENANT, 'it')).key;
    // The tenant's two meters over the same events: units, and the amount each event carries.
    await ingestion.get(MeterCatalogService).upsert(TENANT, { slug: 'tokens', eventType: 'llm.call', aggregation: 'SUM', valueProperty: '$.tokens' });
    // Negative amounts allowed: a refund event lowers what a period costs.
    await ingestion.get(MeterCatalogService).upsert(TENANT, { slug: 'llm-cost', eventType: 'llm.call', aggregation: 'SUM', valueProperty: '$.precise_total_amount', allowNegative: true });
    await expectEventually(async () => expect((await billingApi('GET', '/api/v1/customers')).status).toBe(200));

    // An amount meter that is the charge's own meter is refused with a pointer to it.
    const refused = await billingApi('POST', '/api/v1/plans', { code: 'llm', name: 'LLM', interval: 'monthly', currency: 'EUR', charges: [{ meter: 'tokens', model: 'dynamic', properties: { amount_meter: 'tokens' } }] });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.json)).toContain('amount_meter');
    const plan = { code: 'llm', name: 'LLM', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'tokens', model: 'dynamic', properties: { amount_meter: 'llm-cost' } }] };
    expect((await billingApi('POST', '/api/v1/plans', plan)).status).toBe(201);

    const now = new Date();
    const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    for (const customer of ['c-dyn', 'c-zero']) {
      expect((await billingApi('POST', '/api/v1/customers', { id: customer, name: customer, currency: 'EUR', timezone: 'UTC' })).status).toBeLessThan(300);
      expect((await billingApi('POST', '/api/v1/subscriptions', { id: `sub-${customer}`, customer, plan: 'llm', billingTime: 'calendar', startAt: periodStart.toISOString() })).status).toBe(201);
    }

    // 400 tokens costing 0.12 + 0.3051 + 0.07 = 0.4951 (a decimal string too, as Lago's precise amounts are);
    // and 0 tokens whose events carry 3.5 between them: Lago charges nothing at 0 units.
    await send('c-dyn', [{ tokens: 100, amount: 0.12 }, { tokens: 250, amount: '0.3051' }, { tokens: 50, amount: 0.07 }]);
    await send('c-zero', [{ tokens: 0, amount: 1.5 }, { tokens: 0, amount: '2' }]);
    await expectEventually(async () => {
      expect(await periodUsage('c-dyn')).toEqual({ tokens: '400', 'llm-cost': '0.4951' });
      expect(await periodUsage('c-zero')).toEqual({ tokens: '0', 'llm-cost': '3.5' });
    }, 90_000);

    type Line = { kind: string; code: string; units: string | null; amount: string; breakdown: Array<{ description: string; amount: string }> };
    const upcoming = await billingApi('GET', '/api/v1/customers/c-dyn/invoices/upcoming');
    expect(upcoming.status).toBe(200);
    const [soFar] = upcoming.json.data as Array<{ invoiceSoFar: { lines: Line[] } }>;
    expect(soFar.invoiceSoFar.lines.find((l) => l.code === 'tokens')).toMatchObject({ kind: 'usage', units: '400', amount: '0.50' });

    // The period ends; billing rolls it and, after the grace period, finalizes its invoice.
    const subscriptions = apps[2].app.get(SubscriptionService);
    const invoices = apps[2].app.get(InvoiceService);
    await subscriptions.rollPeriods(new Date(periodEnd.getTime() + HOUR));
    expect(await invoices.closePeriods(new Date(periodEnd.getTime() + 25 * HOUR))).toEqual({ drafted: 0, finalized: 2, failed: 0 });

    const invoiceOf = async (customer: string) => {
      const [invoice] = (await billingApi('GET', `/api/v1/customers/${customer}/invoices`)).json.data as InvoiceView[];
      return invoice as InvoiceView & { document: { lines: Line[]; subtotal: string } };
    };
    const dyn = await invoiceOf('c-dyn');
    const line = dyn.document.lines.find((l) => l.code === 'tokens');
    expect(line).toMatchObject({ kind: 'usage', units: '400', amount: '0.50' });
    expect(line!.breakdown).toEqual([expect.objectContaining({ description: "sum of the events' amounts", amount: '0.4951' })]);
    expect(dyn.document.subtotal).toBe('0.50');

    const zero = await invoiceOf('c-zero');
    const zeroLine = zero.document.lines.find((l) => l.code === 'tokens');
    expect(zeroLine).toMatchObject({ kind: 'usage', units: '0', amount: '0.00' });
    expect(zeroLine!.breakdown).toEqual([expect.objectContaining({ description: "0 units: the events' amounts (3.5) are not charged", amount: '0' })]);
    expect(zero).toMatchObject({ status: 'paid' });
  }, 240_000);

  // On the plan, customers and the closed period of the test above.
  it('corrects late events of a finalized period by the price difference: more on the next invoice or an adjustment invoice, less by a credit note', async () => {
    type Line = { kind: string; code: string; units: string | null; amount: string };
    type Doc = InvoiceView & { kind: string; document: { lines: Line[]; total: string } };
    const now = new Date();
    const p1 = { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
    const p2End = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
    const subscriptions = apps[2].app.get(SubscriptionService);
    const invoices = apps[2].app.get(InvoiceService);
    const corrections = apps[2].app.get(UsageCorrectionsService);
    const invoicesOf = async (customer: string) => (await billingApi('GET', `/api/v1/customers/${customer}/invoices`)).json.data as Doc[];
    const mismatches = async () =>
      ((await billingApi('GET', `/api/v1/billing/reconciliation?from=${p1.start.toISOString()}&to=${p2End.toISOString()}`)).json as { mismatches: Array<{ customer: string; meter: string; difference: string; state: string }> })
        .mismatches;

    // c-late runs on; c-gone is canceled at the end of the period, so nothing else will invoice it.
    for (const customer of ['c-late', 'c-gone']) {
      expect((await billingApi('POST', '/api/v1/customers', { id: customer, name: customer, currency: 'EUR', timezone: 'UTC' })).status).toBeLessThan(300);
      expect((await billingApi('POST', '/api/v1/subscriptions', { id: `sub-${customer}`, customer, plan: 'llm', billingTime: 'calendar', startAt: p1.start.toISOString() })).status).toBe(201);
    }
    expect((await billingApi('POST', '/api/v1/subscriptions/sub-c-gone/cancel', { atPeriodEnd: true })).status).toBeLessThan(300);
    await send('c-late', [{ tokens: 100, amount: '1.2' }]);
    await send('c-gone', [{ tokens: 10, amount: 2 }]);
    await expectEventually(async () => {
      expect(await periodUsage('c-late')).toEqual({ tokens: '100', 'llm-cost': '1.2' });
      expect(await periodUsage('c-gone')).toEqual({ tokens: '10', 'llm-cost': '2' });
    }, 90_000);
    await subscriptions.rollPeriods(new Date(p1.end.getTime() + HOUR));
    expect(await invoices.closePeriods(new Date(p1.end.getTime() + 25 * HOUR))).toEqual({ drafted: 0, finalized: 2, failed: 0 });
    expect((await invoicesOf('c-late'))[0].document.total).toBe('1.20');
    expect((await invoicesOf('c-gone'))[0].document.total).toBe('2.00');
    const clock = new Date(p1.end.getTime() + 26 * HOUR);
    // c-dyn's period as a row finalized before billing recorded the amount billed: it keeps the old behaviour
    // (a dynamic charge's late usage is not re-priced, its late units stay a reconciliation mismatch).
    await suite.query(`UPDATE "${suite.schema('billing')}".invoiced_usage SET amount_meter = NULL, billed_amount = NULL WHERE tenant = $1 AND subscription_id = 'sub-c-dyn' AND period_start = $2`, [TENANT, p1.start]);

    // Late events after the invoices are final: c-late 50 tokens costing 0.3456; c-gone 5 tokens costing 0.5;
    // c-zero (billed 0 at 0 units though its events carried 3.5) 20 tokens with no amount: now all 3.5 is due.
    await send('c-late', [{ tokens: 50, amount: '0.3456' }]);
    await send('c-gone', [{ tokens: 5, amount: 0.5 }]);
    await send('c-zero', [{ tokens: 20, amount: 0 }]);
    await send('c-dyn', [{ tokens: 10, amount: 1 }]);
    await expectEventually(async () => {
      expect(await periodUsage('c-dyn')).toEqual({ tokens: '410', 'llm-cost': '1.4951' });
      expect(await periodUsage('c-late')).toEqual({ tokens: '150', 'llm-cost': '1.5456' });
      expect(await periodUsage('c-gone')).toEqual({ tokens: '15', 'llm-cost': '2.5' });
      expect((await periodUsage('c-zero')).tokens).toBe('20');
    }, 90_000);
    // Only c-gone has nothing left to invoice: an adjustment invoice of its own for the difference, 0.50.
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 0, adjustmentInvoices: 1, failed: 0 });
    const adjustment = (await invoicesOf('c-gone')).find((i) => i.kind === 'adjustment')!;
    expect(adjustment.document.lines.filter((l) => l.kind === 'adjustment')).toEqual([expect.objectContaining({ code: 'tokens', units: '5', amount: '0.50' })]);
    expect(adjustment.document.total).toBe('0.50');
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    expect((await mismatches()).filter((x) => ['c-late', 'c-zero', 'c-gone', 'c-dyn'].includes(x.customer))).toEqual([
      expect.objectContaining({ customer: 'c-dyn', meter: 'tokens', difference: '10', state: 'pending_next_invoice' }),
      expect.objectContaining({ customer: 'c-late', meter: 'tokens', difference: '50', state: 'pending_next_invoice' }),
      expect.objectContaining({ customer: 'c-zero', meter: 'tokens', difference: '20', state: 'pending_next_invoice' }),
    ]);

    // The next period closes: its invoice bills the differences as adjustment lines.
    await subscriptions.rollPeriods(new Date(p2End.getTime() + HOUR));
    await invoices.closePeriods(new Date(p2End.getTime() + 25 * HOUR));
    const nextOf = async (customer: string) => (await invoicesOf(customer)).find((i) => new Date(i.periodStart).getTime() === p1.end.getTime())!;
    expect((await nextOf('c-late')).document.lines.filter((l) => l.kind === 'adjustment')).toEqual([expect.objectContaining({ code: 'tokens', units: '50', amount: '0.35' })]);
    expect((await nextOf('c-zero')).document.lines.filter((l) => l.kind === 'adjustment')).toEqual([expect.objectContaining({ code: 'tokens', units: '20', amount: '3.50' })]);
    expect((await nextOf('c-dyn')).document.lines.filter((l) => l.kind === 'adjustment')).toEqual([]);
    const clock2 = new Date(p2End.getTime() + 26 * HOUR);
    expect(await corrections.correctFinalizedPeriods(clock2)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });

    // A late refund (no units, a negative amount) of c-late's first period: 1.5456 → 1.0456, credited 0.50.
    await send('c-late', [{ tokens: 0, amount: '-0.5' }]);
    await expectEventually(async () => expect(await periodUsage('c-late')).toMatchObject({ 'llm-cost': '1.0456' }), 90_000);
    expect(await corrections.correctFinalizedPeriods(clock2)).toEqual({ creditNotes: 1, adjustmentInvoices: 0, failed: 0 });
    const notes = (await billingApi('GET', '/api/v1/customers/c-late/credit-notes')).json.data as Array<{ periodStart: string; document: { lines: Line[]; total: string } }>;
    expect(notes).toEqual([
      expect.objectContaining({ periodStart: p1.start.toISOString(), document: expect.objectContaining({ lines: [expect.objectContaining({ code: 'tokens', units: '0', amount: '0.50' })], total: '0.50' }) }),
    ]);
    // Nothing left: a second run issues nothing, what is recorded as billed is the usage, and every period reconciles.
    expect(await corrections.correctFinalizedPeriods(clock2)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    const billed = await suite.query<{ subscription_id: string; units: string; amount: string }>(
      `SELECT subscription_id, trim_scale(units)::text AS units, trim_scale(billed_amount)::text AS amount FROM "${suite.schema('billing')}".invoiced_usage
       WHERE tenant = $1 AND meter = 'tokens' AND period_start = $2 AND subscription_id IN ('sub-c-late', 'sub-c-gone', 'sub-c-zero') ORDER BY subscription_id`,
      [TENANT, p1.start],
    );
    expect(billed).toEqual([
      { subscription_id: 'sub-c-gone', units: '15', amount: '2.5' },
      { subscription_id: 'sub-c-late', units: '150', amount: '1.0456' },
      { subscription_id: 'sub-c-zero', units: '20', amount: '3.5' },
    ]);
    expect((await mismatches()).filter((x) => ['c-late', 'c-zero', 'c-gone'].includes(x.customer))).toEqual([]);
    // The row from before: still not re-priced, no credit note, its late units still a mismatch.
    expect((await billingApi('GET', '/api/v1/customers/c-dyn/credit-notes')).json.data).toEqual([]);
    expect((await mismatches()).filter((x) => x.customer === 'c-dyn')).toEqual([expect.objectContaining({ meter: 'tokens', difference: '10', state: 'pending_next_invoice' })]);
  }, 300_000);
});
