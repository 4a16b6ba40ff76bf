import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { MeterCatalogService } from '../../apps/ingestion/src/meters/meter-catalog.service';
import { billingService } from '../../apps/billing/src/billing.service';
import { InvoiceService, type InvoiceView } from '../../apps/billing/src/invoices/invoice.service';
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
    await ingestion.get(MeterCatalogService).upsert(TENANT, { slug: 'llm-cost', eventType: 'llm.call', aggregation: 'SUM', valueProperty: '$.precise_total_amount' });
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
});
