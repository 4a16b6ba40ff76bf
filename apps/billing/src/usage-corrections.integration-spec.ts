import { customerMeterKey, TOPICS, type CreditNoteIssued, type InvoiceChanged, type UsageAggregate } from '@tally/contracts';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from './test-support/billing-test-app';
import type { PlanDefinition } from './catalog/plan-definition';
import { InvoiceService, type InvoiceView } from './invoices/invoice.service';
import { UsageCorrectionsService, type CreditNoteView, type ReconciliationMismatch } from './invoices/usage-corrections.service';
import { SubscriptionService } from './subscriptions/subscription.service';

const TENANT = 'acme';
const KEY = 'key-corrections';
const OTHER_TENANT = 'globex';
const OTHER_KEY = 'key-corrections-globex';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const plan: PlanDefinition = { code: 'metered', name: 'Metered', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.5' } }] };

/**
 * Usage that changes after its period's invoice is final, both ways, on real Kafka and Postgres: a decrease
 * becomes a credit note at once, an increase an adjustment on the next invoice — or on an adjustment invoice
 * when the subscription is canceled and nothing else will be invoiced. Reconciliation (API and gauge) compares
 * each closed period's usage with invoice + adjustments − credit notes.
 */
describe('usage corrections after an invoice is final (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let app: BillingTestApp;
  let collector: TopicCollector;
  let invoices: InvoiceService;
  let subscriptions: SubscriptionService;
  let corrections: UsageCorrectionsService;
  const versions = new Map<string, number>();

  const http = (path: string, apiKey = KEY) => app.get(path, apiKey);
  const post = (path: string, body: unknown) => app.post(path, body);

  /** Aggregation's next state of the customer's PERIOD window (a higher version each time, unless told). */
  const periodUsage = async (customer: string, period: { start: string; end: string }, value: string, version?: number) => {
    const id = `${customer}@${period.start}`;
    const v = version ?? (versions.get(id) ?? 0) + 1;
    versions.set(id, Math.max(v, versions.get(id) ?? 0));
    const aggregate: UsageAggregate = {
      eventId: `${id}:v${v}`, occurredAt: new Date().toISOString(), tenant: TENANT, customer, meter: 'api-calls', windowKind: 'PERIOD',
      windowStart: period.start, windowEnd: period.end, value, eventCount: 1, lastEventTime: period.start, version: v,
    };
    await suite.produce(TOPICS.usageAggregates, [{ key: customerMeterKey(TENANT, customer, 'api-calls'), value: aggregate }]);
    await expectEventually(async () => {
      const [row] = await suite.query<{ version: string }>(`SELECT version::text FROM "${suite.schema('billing')}".period_usage WHERE customer = $1 AND period_start = $2`, [customer, period.start]);
      expect(Number(row?.version)).toBe(versions.get(id));
    });
  };
  const reconciliation = async (from: Date, to: Date, apiKey = KEY) => {
    const body = await json<{ from: string; to: string; periodsAndMetersChecked: number; mismatches: ReconciliationMismatch[] }>(
      http(`/api/v1/billing/reconciliation?from=${from.toISOString()}&to=${to.toISOString()}`, apiKey),
    );
    expect([body.from, body.to]).toEqual([from.toISOString(), to.toISOString()]);
    return { periodsAndMetersChecked: body.periodsAndMetersChecked, mismatches: body.mismatches };
  };
  const creditNotes = (customer: string) => json<{ data: CreditNoteView[] }>(http(`/api/v1/customers/${customer}/credit-notes`));
  const invoicesOf = async (customer: string) => (await json<{ data: Array<InvoiceView> }>(http(`/api/v1/customers/${customer}/invoices`))).data;
  const usageUnits = (i: InvoiceView) => i.document.lines.filter((l) => l.kind === 'usage').map((l) => l.units);
  const adjustmentUnits = (i: InvoiceView) => i.document.lines.filter((l) => l.kind === 'adjustment').map((l) => l.units);

  beforeAll(async () => {
    app = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }, { tenant: OTHER_TENANT, key: OTHER_KEY }], collect: [TOPICS.billingCreditNotes, TOPICS.billingInvoices] });
    collector = app.collector;
    invoices = app.service.app.get(InvoiceService);
    subscriptions = app.service.app.get(SubscriptionService);
    corrections = app.service.app.get(UsageCorrectionsService);
    expect((await post('/api/v1/plans', plan)).status).toBe(201);
  });

  afterAll(() => stopBillingApp(app, suite));

  // Anniversary periods from 40 days ago: exactly one period has closed whatever today's date (a calendar
  // subscription would close two on the first days of a month).
  it('running subscription: a decrease is credited at once, an increase billed on the next invoice; reconciliation follows', async () => {
    const startedAt = new Date(Date.now() - 40 * DAY);
    expect((await post('/api/v1/customers', { id: 'run', name: 'Running', currency: 'EUR', taxRate: '10' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-run', customer: 'run', plan: 'metered', billingTime: 'anniversary', startAt: startedAt.toISOString() }));
    const first = { start: created.periodStart, end: created.periodEnd };
    await periodUsage('run', first, '100');
    const now = new Date();
    await subscriptions.rollPeriods(now);
    await invoices.closePeriods(now);
    const [invoice] = (await invoicesOf('run')).filter((i) => i.periodStart === first.start);
    expect([invoice.status, usageUnits(invoice), invoice.document.total]).toEqual(['finalized', ['100'], '55.00']);
    const range = { from: new Date(startedAt.getTime() - DAY), to: new Date(now.getTime() + DAY) };
    expect(await reconciliation(range.from, range.to)).toEqual({ periodsAndMetersChecked: 1, mismatches: [] });

    // 20 units re-bucketed out of the finalized period: a credit note of 20 × 0.5 + 10 % tax, into the wallet.
    await periodUsage('run', first, '80');
    expect((await reconciliation(range.from, range.to)).mismatches).toEqual([expect.objectContaining({ ledgerUnits: '80', invoicedUnits: '100', difference: '-20', state: 'overbilled' })]);
    expect(await corrections.correctFinalizedPeriods(now)).toEqual({ creditNotes: 1, adjustmentInvoices: 0, failed: 0 });
    const notes = (await creditNotes('run')).data;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ number: 'CN-000001', invoiceId: invoice.id, reason: 'usage_decreased', periodStart: first.start, currency: 'EUR',
      document: { lines: [expect.objectContaining({ meter: 'api-calls', units: '-20', amount: '10.00' })], subtotal: '10.00', tax: '1.00', total: '11.00' } });
    expect(await json(http(`/api/v1/credit-notes/${notes[0].id}`))).toEqual(notes[0]);
    expect(await json(http('/api/v1/customers/run/credits'))).toEqual({ data: [{ currency: 'EUR', balance: '11.00' }] });
    const published = await expectEventually(() => {
      const list = collector.on<CreditNoteIssued>(TOPICS.billingCreditNotes).filter((m) => m.value.customer === 'run');
      expect(list).toHaveLength(1);
      return list[0];
    });
    expect(published.value).toMatchObject({ creditNoteId: notes[0].id, number: 'CN-000001', invoiceNumber: invoice.number, total: '11.00', lines: [{ units: '-20', amount: '10.00' }] });
    expect(await reconciliation(range.from, range.to)).toEqual({ periodsAndMetersChecked: 1, mismatches: [] });
    // Nothing more to correct: a second run and a stale (lower-version) aggregate issue nothing.
    await periodUsage('run', first, '100', 1);
    expect(await corrections.correctFinalizedPeriods(now)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });

    // 50 units more than billed: left to the next invoice (the running period), shown as pending meanwhile.
    await periodUsage('run', first, '130');
    expect(await corrections.correctFinalizedPeriods(now)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    expect((await reconciliation(range.from, range.to)).mismatches).toEqual([expect.objectContaining({ ledgerUnits: '130', invoicedUnits: '80', difference: '50', state: 'pending_next_invoice' })]);
    await corrections.refreshGauge();
    expect(await (await fetch(`${app.base}/metrics`)).text()).toContain('tally_billing_reconciliation_mismatches{state="pending_next_invoice"} 1');
    const running = await json<{ periodEnd: string }>(http('/api/v1/subscriptions/sub-run'));
    const later = new Date(Date.parse(running.periodEnd) + 2 * HOUR);
    await subscriptions.rollPeriods(later);
    await invoices.closePeriods(later);
    const next = (await invoicesOf('run')).find((i) => i.periodStart === new Date(first.end).toISOString())!;
    expect([next.status, usageUnits(next), adjustmentUnits(next)]).toEqual(['finalized', ['0'], ['50']]);
    expect(await reconciliation(range.from, new Date(later.getTime() + DAY))).toEqual({ periodsAndMetersChecked: 2, mismatches: [] });
    expect(await corrections.correctFinalizedPeriods(later)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
  });

  it('canceled subscription: an increase gets an adjustment invoice of its own, decreases (to negative usage) credit notes', async () => {
    const startedAt = new Date(Date.now() - 40 * DAY);
    expect((await post('/api/v1/customers', { id: 'gone', name: 'Gone', currency: 'EUR', taxRate: '10' })).status).toBe(201);
    const created = await json<{ periodStart: string; periodEnd: string }>(post('/api/v1/subscriptions', { id: 'sub-gone', customer: 'gone', plan: 'metered', billingTime: 'anniversary', startAt: startedAt.toISOString() }));
    const period = { start: created.periodStart, end: created.periodEnd };
    expect((await post('/api/v1/subscriptions/sub-gone/cancel', { atPeriodEnd: true })).status).toBe(200);
    await periodUsage('gone', period, '5');
    const now = new Date();
    await subscriptions.rollPeriods(now);
    await invoices.closePeriods(now);
    expect((await json<{ status: string }>(http('/api/v1/subscriptions/sub-gone'))).status).toBe('canceled');
    const [original] = await invoicesOf('gone');
    expect([original.status, usageUnits(original), original.document.total]).toEqual(['finalized', ['5'], '2.75']);

    await periodUsage('gone', period, '12');
    expect((await reconciliation(startedAt, now)).mismatches).toEqual([expect.objectContaining({ customer: 'gone', difference: '7', state: 'unbilled' })]);
    expect(await corrections.correctFinalizedPeriods(now)).toEqual({ creditNotes: 0, adjustmentInvoices: 1, failed: 0 });
    const adjustment = (await invoicesOf('gone')).find((i) => i.id !== original.id)!;
    expect(adjustment).toMatchObject({ status: 'finalized', periodStart: period.start, periodEnd: original.periodEnd });
    expect([usageUnits(adjustment), adjustmentUnits(adjustment), adjustment.document.total]).toEqual([[], ['7'], '3.85']);
    expect(adjustment.number).not.toBe(original.number);
    await expectEventually(() =>
      expect(collector.on<InvoiceChanged>(TOPICS.billingInvoices).filter((m) => m.value.invoiceId === adjustment.id).map((m) => [m.value.status, m.value.total])).toEqual([['finalized', '3.85']]),
    );
    // The first test's two closed periods are reconciled too (same tenant), and clean.
    expect(await reconciliation(startedAt, now)).toEqual({ periodsAndMetersChecked: 3, mismatches: [] });

    // Down to 2, then below zero (a meter that allows negative values): each decrease a credit note against the
    // period's invoice; the negative total is charged 0, so only the 2 units still billed are credited.
    await periodUsage('gone', period, '2');
    await periodUsage('gone', period, '-3');
    expect(await corrections.correctFinalizedPeriods(now)).toEqual({ creditNotes: 1, adjustmentInvoices: 0, failed: 0 });
    const [note] = (await creditNotes('gone')).data;
    expect(note).toMatchObject({ invoiceId: original.id, document: { lines: [expect.objectContaining({ units: '-15', amount: '6.00' })], tax: '0.60', total: '6.60' } });
    // The first test's two closed periods are reconciled too (same tenant), and clean.
    expect(await reconciliation(startedAt, now)).toEqual({ periodsAndMetersChecked: 3, mismatches: [] });
    const billed = await suite.query<{ document_kind: string; units: string }>(
      `SELECT document_kind, units::text FROM "${suite.schema('billing')}".billed_usage WHERE customer = 'gone' ORDER BY recorded_at, document_kind`,
    );
    expect(billed.map((b) => [b.document_kind, Number(b.units)])).toEqual([['invoice', 5], ['adjustment', 7], ['credit_note', -15]]);
  });

  it('reconciliation is tenant-scoped and its range validated', async () => {
    const from = new Date(Date.now() - 60 * DAY);
    const to = new Date(Date.now() + 60 * DAY);
    expect(await reconciliation(from, to, OTHER_KEY)).toEqual({ periodsAndMetersChecked: 0, mismatches: [] });
    expect((await json<{ data: unknown[] }>(http('/api/v1/customers/run/credit-notes', OTHER_KEY)))).toMatchObject({ status: 404 });
    for (const query of ['', `?from=${to.toISOString()}&to=${from.toISOString()}`, `?from=yesterday&to=${to.toISOString()}`, `?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`]) {
      const res = await http(`/api/v1/billing/reconciliation${query}`);
      expect({ query, status: res.status, type: res.headers.get('content-type') }).toEqual({ query, status: 400, type: expect.stringContaining('application/problem+json') });
    }
  });
});
