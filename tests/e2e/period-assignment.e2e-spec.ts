import { TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { MeterCatalogService } from '../../apps/ingestion/src/meters/meter-catalog.service';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { billingService } from '../../apps/billing/src/billing.service';
import { periodContaining } from '../../apps/billing/src/domain/billing-periods';
import { InvoiceService } from '../../apps/billing/src/invoices/invoice.service';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANT = 'periods';

interface SentEvent {
  customer: string;
  time: Date;
  calls: number;
}

interface InvoiceJson {
  id: string;
  status: string;
  periodStart: string;
  periodEnd: string;
  document: { lines: Array<{ kind: string; code: string; units: string | null }> };
}

/**
 * Issue #12's four scenarios, end to end: events sent through ingestion's HTTP API, counted by aggregation,
 * billed by billing's jobs, all on real Kafka and Postgres. Every accepted unit must be on exactly one
 * finalized invoice: the one of the period containing its event time, whatever arrived first (events
 * before billing rolled to the next period, events before their backdated subscription was created).
 */
describe('period assignment by event time: every unit invoiced once, in the period of its event time', () => {
  const suite = new TestSuite();
  const apps: ServiceApp[] = [];
  let ingestionBase = '';
  let billingBase = '';
  let key = '';
  const sent: SentEvent[] = [];
  let n = 0;

  beforeAll(async () => {
    await suite.createTopics();
    const configs = [
      // Scenarios (a) and (b) start 32 days back: events around their first boundary are up to 33 days old.
      suite.serviceConfig(ingestionService, { INGEST_MAX_LATENESS_HOURS: String(40 * 24), ADMIN_TOKEN: 'e2e-admin-token-0123456789' }),
      suite.serviceConfig(aggregationService),
      // The test is billing's clock: its own timer must not run the jobs at the wall-clock time meanwhile.
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
    return { status: res.status, json: await res.json() };
  };

  /** Sends the events through ingestion's HTTP API in one CloudEvents batch; each must be accepted. */
  const send = async (customer: string, events: Array<{ time: Date; calls: number }>): Promise<void> => {
    const body = events.map((e) => ({
      specversion: '1.0',
      id: `${customer}-${(n += 1)}`,
      source: 'period-e2e',
      type: 'api.call',
      subject: customer,
      time: e.time.toISOString(),
      datacontenttype: 'application/json',
      data: { calls: e.calls },
    }));
    const res = await fetch(`${ingestionBase}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(body),
    });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 202, body: { accepted: events.length } });
    sent.push(...events.map((e) => ({ customer, ...e })));
  };

  /**
   * Everything sent so far has gone all the way through: billing's outbox published, aggregation consumed
   * every usage event and period change and published what it derived, billing consumed every aggregate.
   * Checked in that causal order, from the services' own offsets (stored in Postgres) against the topics' ends.
   */
  const settled = async (): Promise<void> => {
    await expectEventually(async () => {
      await suite.expectOutboxPublished('billing');
      await suite.expectCaughtUp('aggregation', TOPICS.billingSubscriptions);
      await suite.expectCaughtUp('aggregation', TOPICS.usageEvents);
      await suite.expectOutboxPublished('aggregation');
      await suite.expectCaughtUp('billing', TOPICS.usageAggregates);
    }, 90_000);
  };

  it('bills the boundary and backdating scenarios of issue #12 in full, each unit in its own period', async () => {
    await apps[0].app.get(ApiKeyService).createTenant(TENANT, 'Period assignment');
    key = (await apps[0].app.get(ApiKeyService).createKey(TENANT, 'e2e')).key;
    await apps[0].app.get(MeterCatalogService).upsert(TENANT, { slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    // The key reaches billing through catalog.api-keys.v1.
    await expectEventually(async () => expect((await billingApi('GET', '/api/v1/customers')).status).toBe(200));
    const plan = { code: 'per-call', name: 'Per call', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '1' } }] };
    expect((await billingApi('POST', '/api/v1/plans', plan)).status).toBe(201);
    const customers = { a: ['a-shanghai-calendar', 'Asia/Shanghai'], b: ['b-shanghai-anniversary', 'Asia/Shanghai'], c: ['c-utc-backdated', 'UTC'], d: ['d-new-york-backdated', 'America/New_York'] } as const;
    for (const [id, timezone] of Object.values(customers)) {
      expect((await billingApi('POST', '/api/v1/customers', { id, name: id, currency: 'EUR', timezone })).status).toBe(201);
    }
    const subscribe = async (customer: string, billingTime: 'calendar' | 'anniversary', startAt: Date) => {
      const res = await billingApi('POST', '/api/v1/subscriptions', { id: `sub-${customer}`, customer, plan: 'per-call', billingTime, startAt: startAt.toISOString() });
      expect(res.status).toBe(201);
      return res.json as unknown as { periodStart: string; periodEnd: string };
    };

    const now = Date.now();
    // (a) and (b): subscribed 32 days ago, so their first period ended a day or more ago at a local midnight in
    // Shanghai (16:00 UTC the day before). The events around that boundary are counted while billing has not
    // yet rolled to the next period; the last ones after the roll.
    const boundaries: Record<'a' | 'b', Date> = { a: new Date(0), b: new Date(0) };
    for (const [scenario, billingTime] of [['a', 'calendar'], ['b', 'anniversary']] as const) {
      const [customer] = customers[scenario];
      const first = await subscribe(customer, billingTime, new Date(now - 32 * DAY));
      const boundary = new Date(first.periodEnd);
      boundaries[scenario] = boundary;
      expect(boundary.getTime()).toBeLessThan(now - DAY);
      await send(customer, [
        { time: new Date(boundary.getTime() - 2 * HOUR), calls: 3 },
        { time: new Date(boundary.getTime() - 60_000), calls: 4 },
        { time: new Date(boundary.getTime() - 1), calls: 3 },
        // Local midnight itself belongs to the next period.
        { time: boundary, calls: 2 },
        { time: new Date(boundary.getTime() + 1), calls: 1 },
        { time: new Date(boundary.getTime() + 30 * 60_000), calls: 2 },
      ]);
    }
    // (c) and (d): 2,000 units used from earlier today, before the subscription exists.
    const backdatedStart = new Date(now - 6 * HOUR);
    for (const scenario of ['c', 'd'] as const) {
      const [customer] = customers[scenario];
      await send(customer, [
        { time: new Date(backdatedStart.getTime()), calls: 500 },
        { time: new Date(backdatedStart.getTime() + HOUR), calls: 500 },
        { time: new Date(backdatedStart.getTime() + 3 * HOUR), calls: 600 },
        { time: new Date(now - 2 * 60_000), calls: 400 },
      ]);
    }
    await settled();

    // The subscriptions of (c) and (d) are created now, starting earlier today; billing's roll job runs now.
    await subscribe(customers.c[0], 'calendar', backdatedStart);
    await subscribe(customers.d[0], 'anniversary', backdatedStart);
    await apps[2].app.get(SubscriptionService).rollPeriods(new Date(now));
    for (const scenario of ['a', 'b'] as const) await send(customers[scenario][0], [{ time: new Date(boundaries[scenario].getTime() + HOUR), calls: 2 }]);
    for (const scenario of ['c', 'd'] as const) {
      await send(customers[scenario][0], [
        { time: new Date(backdatedStart.getTime() + 2 * HOUR), calls: 3 },
        { time: new Date(now - 60_000), calls: 4 },
      ]);
    }
    await settled();

    // Time passes beyond the end (and grace) of every period that got events: billing's jobs roll and close.
    const lastEnd = Math.max(
      ...Object.values(customers).map(([customer, timeZone]) => {
        const last = Math.max(...sent.filter((e) => e.customer === customer).map((e) => e.time.getTime()));
        const billingTime = customer.startsWith('a-') || customer.startsWith('c-') ? 'calendar' : 'anniversary';
        const startedAt = customer.startsWith('a-') || customer.startsWith('b-') ? new Date(now - 32 * DAY) : backdatedStart;
        return periodContaining({ billingTime, interval: 'monthly', startedAt, timeZone }, new Date(last)).end.getTime();
      }),
    );
    const later = new Date(lastEnd + 25 * HOUR);
    await apps[2].app.get(SubscriptionService).rollPeriods(later);
    await settled();
    await apps[2].app.get(InvoiceService).closePeriods(later);

    for (const [customer] of Object.values(customers)) {
      const events = sent.filter((e) => e.customer === customer);
      const total = events.reduce((sum, e) => sum + e.calls, 0);
      const { json } = await billingApi('GET', `/api/v1/customers/${customer}/invoices`);
      const invoices = (json.data as InvoiceJson[]).filter((i) => i.status !== 'draft');
      const billed = invoices.map((i) => {
        const start = Date.parse(i.periodStart);
        const end = Date.parse(i.periodEnd);
        const expected = events.filter((e) => e.time.getTime() >= start && e.time.getTime() < end).reduce((sum, e) => sum + e.calls, 0);
        const usage = i.document.lines.filter((l) => l.kind === 'usage' && l.code === 'api-calls').map((l) => Number(l.units));
        const corrections = i.document.lines.filter((l) => l.kind === 'adjustment');
        return { customer, period: `${i.periodStart} - ${i.periodEnd}`, units: usage, expected: [expected], corrections };
      });
      if (process.env.PERIOD_E2E_DEBUG) console.log(JSON.stringify(billed));
      // Each invoice bills what its period's events sent, on its usage line, with no correction afterwards.
      expect(billed).toEqual(billed.map((b) => ({ ...b, units: b.expected, corrections: [] })));
      // The invoices cover every unit sent: 17 for the boundary customers, 2,007 for the backdated ones.
      expect({ customer, invoiced: billed.reduce((sum, b) => sum + b.units[0], 0) }).toEqual({ customer, invoiced: total });
    }
    expect(sent.filter((e) => e.customer === customers.a[0]).reduce((s, e) => s + e.calls, 0)).toBe(17);
    expect(sent.filter((e) => e.customer === customers.c[0]).reduce((s, e) => s + e.calls, 0)).toBe(2007);
  });
});
