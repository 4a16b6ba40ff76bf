import { randomUUID } from 'node:crypto';
import { customerMeterKey, TOPICS, type UsageAggregate } from '@tally/contracts';
import { expectEventually, TestSuite } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import { TRACES_PER_USAGE_ROW } from './domain/usage-trace';
import { InvoiceService } from './invoices/invoice.service';
import { SubscriptionService } from './subscriptions/subscription.service';

const TENANT = 'traced';
const KEY = 'key-usage-trace';
const START = '2026-09-01T00:00:00.000Z';
const END = '2026-10-01T00:00:00.000Z';

/**
 * The trace contexts billing keeps with period usage (domain/usage-trace.ts), on real Kafka and Postgres:
 * newest first, each once, only from an aggregate the row takes (a stale or redelivered one adds nothing new),
 * at most TRACES_PER_USAGE_ROW; and a period whose usage kept contexts still closes (the span is the SDK's
 * business: none is registered here, so the close runs under the API's no-op tracer).
 */
describe('billing keeps the trace contexts of the usage it bills (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let produced = 0;

  beforeAll(async () => {
    app = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }], collect: [TOPICS.billingInvoices] });
  });

  afterAll(() => stopBillingApp(app, suite));

  const tp = (n: number) => `00-${n.toString(16).padStart(32, 'a')}-${'b'.repeat(16)}-01`;
  const send = async (customer: string, value: string, version: number, traceparent?: string): Promise<void> => {
    const aggregate: UsageAggregate = {
      eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter: 'calls', windowKind: 'PERIOD',
      windowStart: START, windowEnd: END, value, eventCount: 1, lastEventTime: START, version,
    };
    await suite.produce(TOPICS.usageAggregates, [{ key: customerMeterKey(TENANT, customer, 'calls'), value: aggregate, ...(traceparent ? { headers: { traceparent } } : {}) }]);
    produced++;
    // One message at a time, each consumed before the next (a batch keeps only its newest aggregate per row).
    await expectEventually(async () => {
      const [row] = await suite.query<{ consumed: string }>(
        `SELECT COALESCE(sum(next_offset), 0)::text AS consumed FROM "${suite.schema('billing')}".consumer_offsets WHERE topic = $1`,
        [suite.topic(TOPICS.usageAggregates)],
      );
      expect(Number(row.consumed)).toBe(produced);
    });
  };
  const kept = async (customer: string) => {
    const [row] = await suite.query<{ value: string; traces: Array<{ traceparent: string; at: string }> | null }>(
      `SELECT value::text, traces FROM "${suite.schema('billing')}".period_usage WHERE customer = $1`,
      [customer],
    );
    return { value: row?.value, traces: row?.traces?.map((t) => t.traceparent) ?? null };
  };

  it('keeps newest first, once each, only from aggregates the row takes, at most TRACES_PER_USAGE_ROW; the period still closes', async () => {
    await send('c-1', '10', 1, tp(1));
    expect(await kept('c-1')).toEqual({ value: '10', traces: [tp(1)] });
    await send('c-1', '20', 2, tp(2));
    expect(await kept('c-1')).toEqual({ value: '20', traces: [tp(2), tp(1)] });
    // Stale (a lower version, another context) and redelivered (the same version and context): nothing new.
    await send('c-1', '10', 1, tp(3));
    await send('c-1', '20', 2, tp(2));
    expect(await kept('c-1')).toEqual({ value: '20', traces: [tp(2), tp(1)] });
    // A newer aggregate without a context (or with a malformed one) keeps what the row has.
    await send('c-1', '25', 3);
    await send('c-1', '26', 4, 'not-a-traceparent');
    expect(await kept('c-1')).toEqual({ value: '26', traces: [tp(2), tp(1)] });
    // The same context again on a newer version moves to the front.
    await send('c-1', '30', 5, tp(1));
    expect(await kept('c-1')).toEqual({ value: '30', traces: [tp(1), tp(2)] });

    // Usage without any context keeps none.
    await send('c-2', '5', 1);
    expect(await kept('c-2')).toEqual({ value: '5', traces: null });

    // Many aggregates: the newest few.
    for (let v = 1; v <= TRACES_PER_USAGE_ROW + 2; v++) await send('c-3', String(v), v, tp(100 + v));
    expect((await kept('c-3')).traces).toEqual(Array.from({ length: TRACES_PER_USAGE_ROW }, (_, i) => tp(100 + TRACES_PER_USAGE_ROW + 2 - i)));

    // The period of usage with kept contexts closes like any other.
    const plan = { code: 'traced', name: 'Traced', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'calls', model: 'standard', properties: { amount: '1' } }] };
    expect((await app.post('/api/v1/plans', plan)).status).toBe(201);
    expect((await app.post('/api/v1/customers', { id: 'c-1', name: 'One', currency: 'EUR' })).status).toBe(201);
    const subscriptions = app.service.app.get(SubscriptionService);
    await subscriptions.create(TENANT, { id: 'sub-1', customer: 'c-1', plan: 'traced', planVersion: 1, startAt: START }, new Date(START));
    const after = new Date(Date.parse(END) + 2 * 3_600_000);
    await subscriptions.rollPeriods(after);
    expect(await app.service.app.get(InvoiceService).closePeriods(after)).toEqual({ drafted: 0, finalized: 1, failed: 0 });
    const [invoice] = (await json<{ data: Array<{ document: { lines: Array<{ code: string; amount: string }> } }> }>(app.get('/api/v1/customers/c-1/invoices'))).data;
    expect(invoice.document.lines.find((l) => l.code === 'calls')).toMatchObject({ amount: '30.00' });
  }, 120_000);
});
