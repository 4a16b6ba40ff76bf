import { customerKey, TOPICS, type UsageEvent } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { InvoiceService, type InvoiceView } from '../../apps/billing/src/invoices/invoice.service';
import { UsageCorrectionsService } from '../../apps/billing/src/invoices/usage-corrections.service';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';
import { json, startBillingApp, stopBillingApp, type BillingTestApp } from '../../apps/billing/src/test-support/billing-test-app';

const TENANT = 'prorated';
const KEY = 'prorated-key-0123456789';
const HOUR = 3_600_000;
const SHANGHAI = 8 * HOUR; // UTC+8, no DST: local midnight is 16:00 UTC the day before

/** Shanghai's local midnight starting day `day` (1-based) of `month` (0-based, may overflow) of `year`. */
const shanghaiDay = (year: number, month: number, day: number, hour = 0): Date => new Date(Date.UTC(year, month, day, hour) - SHANGHAI);
const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

type Line = { kind: string; code: string; units: string | null; amount: string; description: string; breakdown: Array<{ description: string; units: string; amount: string }> };

/**
 * Lago's prorated charge, end to end on real Kafka and Postgres: a plan's `prorated: true` standard charge on a
 * seats meter (billing's HTTP API), a customer in Asia/Shanghai, seat changes on chosen local days published to
 * usage.events.v1; aggregation keeps the held unit-days per period, billing prices them on the period's invoice
 * (and carries the seats held into the next period and the upcoming invoice).
 */
describe('prorated charge: seats billed by the local days they were held (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let billing: BillingTestApp | undefined;
  let aggregation: ServiceApp | undefined;
  let n = 0;

  beforeAll(async () => {
    billing = await startBillingApp(suite, { keys: [{ tenant: TENANT, key: KEY }], collect: [TOPICS.usageAggregates] });
    aggregation = await createServiceApp(aggregationService, suite.serviceConfig(aggregationService));
    await aggregation.app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await aggregation?.app.close();
    await stopBillingApp(billing, suite);
  });

  const seats = (customer: string, at: Date, value: string, aggregation: 'SUM' | 'COUNT' = 'SUM'): UsageEvent => {
    n += 1;
    return {
      eventId: `${TENANT}:s-${n}`, occurredAt: at.toISOString(), tenant: TENANT, id: `s-${n}`, source: 'seats-it', type: 'seat.changed', subject: customer,
      time: at.toISOString(), data: { delta: value }, readings: [{ meter: 'seats', aggregation, value: aggregation === 'COUNT' ? null : value, groupBy: {} }],
    };
  };
  const publish = (events: UsageEvent[]) => suite.produce(TOPICS.usageEvents, events.map((e) => ({ key: customerKey(e.tenant, e.subject), value: e })));
  const periodUsage = (customer: string) =>
    suite.query<{ period_start: Date; value: string; held: string | null }>(
      `SELECT period_start, trim_scale(value)::text AS value, trim_scale(held_unit_days)::text AS held FROM "${suite.schema('billing')}".period_usage
       WHERE tenant = $1 AND customer = $2 AND meter = 'seats' ORDER BY period_start`,
      [TENANT, customer],
    );

  // Two whole Shanghai months that have ended: P1 and P2 (e.g. October 2026, 31 days, and November, 30 days).
  const localNow = new Date(Date.now() + SHANGHAI);
  const [y, m] = [localNow.getUTCFullYear(), localNow.getUTCMonth()];
  const p1 = { start: shanghaiDay(y, m - 2, 1), end: shanghaiDay(y, m - 1, 1) };
  const p2 = { start: p1.end, end: shanghaiDay(y, m, 1) };
  const [y1, m1] = [new Date(p1.start.getTime() + SHANGHAI).getUTCFullYear(), new Date(p1.start.getTime() + SHANGHAI).getUTCMonth()];
  const [y2, m2] = [new Date(p2.start.getTime() + SHANGHAI).getUTCFullYear(), new Date(p2.start.getTime() + SHANGHAI).getUTCMonth()];
  const n1 = daysIn(y1, m1);
  const n2 = daysIn(y2, m2);
  const round2 = (x: number) => (Math.round(x * 100) / 100).toFixed(2);
  // P1 and P2 only: a UTC calendar month that held P2's events before P2 was known is emptied (0).
  const ofPeriods = (rows: Array<{ period_start: Date; value: string; held: string | null }>) =>
    rows.filter((r) => [p1.start.getTime(), p2.start.getTime()].includes(r.period_start.getTime())).map((r) => [r.period_start.toISOString(), r.value, r.held]);

  it('bills Lago\'s formula for two periods, carries the seats over, and refuses a prorated meter that is not a SUM', async () => {
    const api = billing!;
    // Refused at plan creation: prorated graduated (Lago's ProratedGraduatedService needs the event order) and package.
    for (const charge of [
      { meter: 'seats', model: 'graduated', prorated: true, properties: { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '0' }] } },
      { meter: 'seats', model: 'package', prorated: true, properties: { amount: '1', package_size: 10, free_units: 0 } },
    ]) {
      const refused = await api.post('/api/v1/plans', { code: 'seats', name: 'Seats', interval: 'monthly', currency: 'EUR', charges: [charge] });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(await refused.json())).toContain('/charges/0/prorated');
    }
    const plan = { code: 'seats', name: 'Seats', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'seats', model: 'standard', prorated: true, properties: { amount: '2.5' } }] };
    expect((await api.post('/api/v1/plans', plan)).status).toBe(201);


    for (const customer of ['c-seats', 'c-count']) {
      expect((await api.post('/api/v1/customers', { id: customer, name: customer, currency: 'EUR', timezone: 'Asia/Shanghai' })).status).toBeLessThan(300);
      expect((await api.post('/api/v1/subscriptions', { id: `sub-${customer}`, customer, plan: 'seats', billingTime: 'calendar', startAt: p1.start.toISOString() })).status).toBe(201);
    }

    // P1: 3 seats on local day 1 at 10:00 (held n1 days), 2 at exactly local midnight starting day 11 (n1 − 10),
    // 1 removed on the last local day at 23:00 (1 day).
    await publish([seats('c-seats', shanghaiDay(y1, m1, 1, 10), '3'), seats('c-seats', shanghaiDay(y1, m1, 11), '2'), seats('c-seats', shanghaiDay(y1, m1, n1, 23), '-1')]);
    // P2, published before billing rolls into P2 (aggregation counts them in UTC months, then re-buckets):
    // 4 seats added on day 16 at 12:00 (n2 − 15 days), 2 removed on day 6 at 09:00 (n2 − 5 days).
    await publish([seats('c-seats', shanghaiDay(y2, m2, 16, 12), '4'), seats('c-seats', shanghaiDay(y2, m2, 6, 9), '-2')]);
    // The hostile customer's seats meter is a COUNT: aggregation keeps no held unit-days for it.
    await publish([seats('c-count', shanghaiDay(y1, m1, 3, 10), '1', 'COUNT'), seats('c-count', shanghaiDay(y2, m2, 3, 10), '1', 'COUNT')]);

    const subscriptions = api.service.app.get(SubscriptionService);
    const invoices = api.service.app.get(InvoiceService);
    expect(await subscriptions.rollPeriods()).toBeGreaterThanOrEqual(4); // each customer: P1 → P2 → the running period

    const held1 = 3 * n1 + 2 * (n1 - 10) - 1; // October: 93 + 42 − 1 = 134
    const held2 = 4 * (n2 - 15) - 2 * (n2 - 5); // November: 60 − 50 = 10
    await expectEventually(async () => {
      expect(ofPeriods(await periodUsage('c-seats'))).toEqual([
        [p1.start.toISOString(), '4', String(held1)],
        [p2.start.toISOString(), '2', String(held2)],
      ]);
      expect(ofPeriods(await periodUsage('c-count')).map(([, value, held]) => [value, held])).toEqual([['1', null], ['1', null]]);
    }, 90_000);

    const clock = new Date(Math.max(Date.now(), p2.end.getTime() + 2 * HOUR));
    expect(await invoices.closePeriods(clock)).toEqual({ drafted: 0, finalized: 2, failed: 2 });

    const invoicesOf = async (customer: string) => (await json<{ data: Array<InvoiceView & { document: { lines: Line[]; total: string } }> }>(api.get(`/api/v1/customers/${customer}/invoices`))).data;
    const byStart = new Map((await invoicesOf('c-seats')).map((i) => [new Date(i.periodStart).toISOString(), i]));
    // P1 (Lago: Σ units × days held / days): (3 × 31 + 2 × 21 − 1 × 1) / 31 = 134/31 prorated seats × 2.5 = 10.806… → 10.81.
    const line1 = byStart.get(p1.start.toISOString())!.document.lines.find((l) => l.code === 'seats')!;
    expect(line1).toMatchObject({ kind: 'usage', units: '4', amount: round2((held1 / n1) * 2.5) });
    expect(line1.description).toContain('prorated by days held');
    // P2: the 4 seats held at its opening count in full (4), the changes (4 × 15 − 2 × 25) / 30 = 1/3:
    // 4.333… prorated seats × 2.5 = 10.833… → 10.83; 6 seats held at its end.
    const line2 = byStart.get(p2.start.toISOString())!.document.lines.find((l) => l.code === 'seats')!;
    expect(line2).toMatchObject({ kind: 'usage', units: '6', amount: round2((4 + held2 / n2) * 2.5) });
    expect(byStart.get(p2.start.toISOString())!.document.total).toBe(round2((4 + held2 / n2) * 2.5));

    // The running period (P3) carries the 6 seats: held all period, 6 × 2.5 = 15.00 so far and projected.
    const upcoming = await json<{ data: Array<{ invoiceSoFar: { lines: Line[] }; projectedInvoice: { lines: Line[] } }> }>(api.get('/api/v1/customers/c-seats/invoices/upcoming'));
    expect(upcoming.data[0].invoiceSoFar.lines.find((l) => l.code === 'seats')).toMatchObject({ units: '6', amount: '15.00' });
    expect(upcoming.data[0].projectedInvoice.lines.find((l) => l.code === 'seats')).toMatchObject({ units: '6', amount: '15.00' });

    // A late removal on P2's day 21, after P2's invoice is final (10 of its 30 days less): credited at once,
    // 10/30 × 2.5 = 0.833… → 0.83 (no tax).
    await publish([seats('c-seats', shanghaiDay(y2, m2, 21, 8), '-1')]);
    await expectEventually(async () => expect(ofPeriods(await periodUsage('c-seats'))[1]).toEqual([p2.start.toISOString(), '1', String(held2 - (n2 - 20))]), 90_000);
    const corrections = api.service.app.get(UsageCorrectionsService);
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 1, adjustmentInvoices: 0, failed: 0 });
    const [note] = (await json<{ data: Array<{ periodStart: string; document: { lines: Array<{ meter: string; units: string; amount: string }>; total: string } }> }>(api.get('/api/v1/customers/c-seats/credit-notes'))).data;
    expect(note).toMatchObject({ periodStart: p2.start.toISOString(), document: { lines: [expect.objectContaining({ meter: 'seats', units: '-1', amount: round2(((n2 - 20) / n2) * 2.5) })], total: round2(((n2 - 20) / n2) * 2.5) } });
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });

    // A late seat added on P1's day 20, after P1's invoice is final: dearer P1 (its 12 of 31 days) and dearer P2 (it
    // opened with 5 seats, not 4: one more seat all 30 days), both left to the next invoice (no correction now);
    // the running period opens with 6 seats (6 × 2.5 = 15.00).
    await publish([seats('c-seats', shanghaiDay(y1, m1, 20, 9), '1')]);
    await expectEventually(async () => expect(ofPeriods(await periodUsage('c-seats'))[0]).toEqual([p1.start.toISOString(), '5', String(held1 + (n1 - 19))]), 90_000);
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    const later = await json<{ data: Array<{ invoiceSoFar: { lines: Line[] } }> }>(api.get('/api/v1/customers/c-seats/invoices/upcoming'));
    expect(later.data[0].invoiceSoFar.lines.find((l) => l.code === 'seats')).toMatchObject({ units: '6', amount: '15.00' });
    // Reconciliation shows the late seat's units as pending the next invoice (P2's units are unchanged).
    const recon = await json<{ mismatches: Array<{ customer: string; periodStart: string; meter: string; difference: string; state: string }> }>(
      api.get(`/api/v1/billing/reconciliation?from=${p1.start.toISOString()}&to=${p2.end.toISOString()}`),
    );
    expect(recon.mismatches.filter((x) => x.customer === 'c-seats')).toEqual([
      expect.objectContaining({ periodStart: p1.start.toISOString(), meter: 'seats', difference: '1', state: 'pending_next_invoice' }),
    ]);

    // The COUNT meter's periods are not invoiced by a guess: each close fails, recorded with the reason.
    expect(await invoicesOf('c-count')).toEqual([]);
    // Its running period's preview answers 409 with the reason once it has usage (not a 500, not a guess).
    await publish([seats('c-count', new Date(Math.max(p2.end.getTime() + 60_000, Date.now() - HOUR)), '1', 'COUNT')]);
    await expectEventually(async () => {
      const preview = await api.get('/api/v1/customers/c-count/invoices/upcoming');
      expect(preview.status).toBe(409);
      expect(((await preview.json()) as { detail: string }).detail).toMatch(/carries no heldUnitDays/);
    }, 90_000);
    const failures = await json<Array<{ job: string; error: string }> | { data: Array<{ job: string; error: string }> }>(api.get('/api/v1/billing/job-failures?job=close-period'));
    const list = Array.isArray(failures) ? failures : failures.data;
    expect(list).toHaveLength(2);
    for (const f of list) expect(f.error).toMatch(/prorated charge on meter "seats": the period's usage \(1\) carries no heldUnitDays/);

    // The running period P3 closes: 6 seats held all of it (15.00), and the adjustments of the late seat: P1 for its
    // 12 of 31 days, 12/31 × 2.5 = 0.967… → 0.97, P2 for the seat it opened with, 30/30 × 2.5 = 2.50.
    // Every closed period then reconciles.
    const p3End = shanghaiDay(y, m + 1, 1);
    const clock3 = new Date(p3End.getTime() + 2 * HOUR);
    await subscriptions.rollPeriods(clock3);
    await invoices.closePeriods(clock3);
    const p3Invoice = (await invoicesOf('c-seats')).find((i) => new Date(i.periodStart).getTime() === p2.end.getTime())!;
    expect(p3Invoice.document.lines.find((l) => l.kind === 'usage' && l.code === 'seats')).toMatchObject({ units: '6', amount: '15.00' });
    expect(p3Invoice.document.lines.filter((l) => l.kind === 'adjustment')).toEqual([
      expect.objectContaining({ code: 'seats', units: '1', amount: round2(((n1 - 19) / n1) * 2.5) }),
      expect.objectContaining({ code: 'seats', units: '0', amount: '2.50' }),
    ]);
    expect(await corrections.correctFinalizedPeriods(clock3)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    // What is recorded as billed now matches the usage: nothing left for a correction run to pick up.
    const billedRows = await suite.query<{ period_start: Date; units: string; held: string; opening: string }>(
      `SELECT period_start, trim_scale(units)::text AS units, trim_scale(held_unit_days)::text AS held, trim_scale(opening_units)::text AS opening
       FROM "${suite.schema('billing')}".invoiced_usage WHERE tenant = $1 AND subscription_id = 'sub-c-seats' AND meter = 'seats' AND period_start < $2 ORDER BY period_start`,
      [TENANT, p2.end],
    );
    expect(billedRows.map((r) => [r.units, r.held, r.opening])).toEqual([
      ['5', String(held1 + (n1 - 19)), '0'],
      ['1', String(held2 - (n2 - 20)), '5'],
    ]);
    const clean = await json<{ mismatches: Array<{ customer: string }> }>(api.get(`/api/v1/billing/reconciliation?from=${p1.start.toISOString()}&to=${p3End.toISOString()}`));
    expect(clean.mismatches.filter((x) => x.customer === 'c-seats')).toEqual([]);
  }, 240_000);

  // On the plan the test above created.
  it('bills a dearer finalized period of a subscription that has ended on an adjustment invoice of its own, each period re-priced', async () => {
    const api = billing!;
    const subscriptions = api.service.app.get(SubscriptionService);
    const invoices = api.service.app.get(InvoiceService);
    const corrections = api.service.app.get(UsageCorrectionsService);
    expect((await api.post('/api/v1/customers', { id: 'c-gone', name: 'Gone', currency: 'EUR', timezone: 'Asia/Shanghai' })).status).toBeLessThan(300);
    expect((await api.post('/api/v1/subscriptions', { id: 'sub-c-gone', customer: 'c-gone', plan: 'seats', billingTime: 'calendar', startAt: p1.start.toISOString() })).status).toBe(201);
    // 2 seats from P1's first instant: 2 × 2.5 = 5.00 in P1, P2 and P3 (canceled at the end of P3).
    await publish([seats('c-gone', p1.start, '2')]);
    await subscriptions.rollPeriods();
    await expectEventually(async () => expect(ofPeriods(await periodUsage('c-gone'))).toEqual([[p1.start.toISOString(), '2', String(2 * n1)]]), 90_000);
    expect((await api.post('/api/v1/subscriptions/sub-c-gone/cancel', { atPeriodEnd: true })).status).toBeLessThan(300);
    const p3End = shanghaiDay(y, m + 1, 1);
    const clock3 = new Date(p3End.getTime() + 2 * HOUR);
    await subscriptions.rollPeriods(clock3);
    await invoices.closePeriods(clock3);
    const gone = async () => (await json<{ data: Array<InvoiceView & { document: { lines: Line[]; total: string } }> }>(api.get('/api/v1/customers/c-gone/invoices'))).data;
    expect((await gone()).filter((i) => i.kind === 'period').map((i) => i.document.total)).toEqual(['5.00', '5.00', '5.00']);

    // A late seat on P1's day 20: P1 dearer by 12 of its 31 days, P2 and P3 by a seat they opened with (2.50 each).
    // Nothing of the subscription is left to invoice: one adjustment invoice per period, finalized at once.
    await publish([seats('c-gone', shanghaiDay(y1, m1, 20, 9), '1')]);
    await expectEventually(async () => expect(ofPeriods(await periodUsage('c-gone'))[0][1]).toBe('3'), 90_000);
    expect(await corrections.correctFinalizedPeriods(clock3)).toEqual({ creditNotes: 0, adjustmentInvoices: 3, failed: 0 });
    const adjustments = (await gone()).filter((i) => i.kind === 'adjustment');
    expect(adjustments.map((i) => [new Date(i.periodStart).toISOString(), i.document.total]).sort()).toEqual(
      [[p1.start.toISOString(), round2(((n1 - 19) / n1) * 2.5)], [p2.start.toISOString(), '2.50'], [p2.end.toISOString(), '2.50']].sort(),
    );
    expect(await corrections.correctFinalizedPeriods(clock3)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
  }, 240_000);

  // On the plan the first test created.
  it('still bills the seats prorated on the old plan after a plan change mid-period to a plan without them', async () => {
    const api = billing!;
    const subscriptions = api.service.app.get(SubscriptionService);
    const invoices = api.service.app.get(InvoiceService);
    const lite = { code: 'seats-lite', name: 'Lite', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '1' } }] };
    expect((await api.post('/api/v1/plans', lite)).status).toBe(201);
    expect((await api.post('/api/v1/customers', { id: 'c-switch', name: 'Switch', currency: 'EUR', timezone: 'Asia/Shanghai' })).status).toBeLessThan(300);
    expect((await api.post('/api/v1/subscriptions', { id: 'sub-c-switch', customer: 'c-switch', plan: 'seats', billingTime: 'calendar', startAt: p2.start.toISOString() })).status).toBe(201);
    await subscriptions.rollPeriods();
    // 2 seats an hour into the running period (P3), held all of it: n3 local days each.
    const p3End = shanghaiDay(y, m + 1, 1);
    const n3 = Math.round((p3End.getTime() - p2.end.getTime()) / (24 * HOUR));
    await publish([seats('c-switch', new Date(p2.end.getTime() + HOUR), '2')]);
    const p3Usage = async () =>
      (await periodUsage('c-switch')).filter((r) => r.period_start.getTime() === p2.end.getTime()).map((r) => [r.value, r.held]);
    await expectEventually(async () => expect(await p3Usage()).toEqual([['2', String(2 * n3)]]), 90_000);
    // Now to a plan without the seats charge: billing publishes the subscription without prorated meters, and
    // aggregation, once it has consumed that, still keeps the period's held unit-days for the old charge.
    expect((await api.post('/api/v1/subscriptions/sub-c-switch/change-plan', { plan: 'seats-lite' })).status).toBe(200);
    await expectEventually(async () => {
      await suite.expectOutboxPublished('billing');
      await suite.expectCaughtUp('aggregation', TOPICS.billingSubscriptions);
    }, 90_000);
    const [period] = await suite.query(
      `SELECT time_zone, prorated_meters FROM "${suite.schema('aggregation')}".customer_periods WHERE customer = 'c-switch' AND period_start = $1`,
      [p2.end],
    );
    expect(period).toEqual({ time_zone: 'Asia/Shanghai', prorated_meters: ['seats'] });
    await expectEventually(async () => {
      await suite.expectOutboxPublished('aggregation');
      await suite.expectCaughtUp('billing', TOPICS.usageAggregates);
    }, 90_000);
    expect(await p3Usage()).toEqual([['2', String(2 * n3)]]);
    const clock3 = new Date(p3End.getTime() + 2 * HOUR);
    await subscriptions.rollPeriods(clock3);
    await invoices.closePeriods(clock3);
    const p3Invoice = (await json<{ data: Array<InvoiceView & { document: { lines: Line[] } }> }>(api.get('/api/v1/customers/c-switch/invoices'))).data.find(
      (i) => new Date(i.periodStart).getTime() === p2.end.getTime(),
    );
    // The old plan's seats charge, prorated: 2 seats held all n3 days = 2 × 2.5.
    expect(p3Invoice?.document.lines.find((l) => l.kind === 'usage' && l.code === 'seats')).toMatchObject({ units: '2', amount: '5.00' });
  }, 240_000);

  // On the plan the first test created.
  it('counts a late change that costs nothing (a negative total stays 0) as billed, on a 0.00 line of the next invoice', async () => {
    const api = billing!;
    const subscriptions = api.service.app.get(SubscriptionService);
    const invoices = api.service.app.get(InvoiceService);
    const corrections = api.service.app.get(UsageCorrectionsService);
    expect((await api.post('/api/v1/customers', { id: 'c-neg', name: 'Negative', currency: 'EUR', timezone: 'Asia/Shanghai' })).status).toBeLessThan(300);
    expect((await api.post('/api/v1/subscriptions', { id: 'sub-c-neg', customer: 'c-neg', plan: 'seats', billingTime: 'calendar', startAt: p2.start.toISOString() })).status).toBe(201);
    // A careless producer removes a seat that was never added: P2 holds −1 seat all month, charged 0.
    await publish([seats('c-neg', shanghaiDay(y2, m2, 1, 10), '-1')]);
    await subscriptions.rollPeriods();
    const p2Usage = async () => (await periodUsage('c-neg')).filter((r) => r.period_start.getTime() === p2.start.getTime()).map((r) => [r.value, r.held]);
    await expectEventually(async () => expect(await p2Usage()).toEqual([['-1', String(-n2)]]), 90_000);
    const clock = new Date(Math.max(Date.now(), p2.end.getTime() + 2 * HOUR));
    await invoices.closePeriods(clock);
    const invoicesOf = async () => (await json<{ data: Array<InvoiceView & { document: { lines: Line[] } }> }>(api.get('/api/v1/customers/c-neg/invoices'))).data;
    const p2Invoice = (await invoicesOf()).find((i) => new Date(i.periodStart).getTime() === p2.start.getTime());
    expect(p2Invoice?.document.lines.find((l) => l.code === 'seats')).toMatchObject({ units: '-1', amount: '0.00' });
    // Another removal on P2's day 5 after its invoice is final: still 0, no credit note, no adjustment invoice…
    await publish([seats('c-neg', shanghaiDay(y2, m2, 5, 10), '-1')]);
    await expectEventually(async () => expect(await p2Usage()).toEqual([['-2', String(-n2 - (n2 - 4))]]), 90_000);
    expect(await corrections.correctFinalizedPeriods(clock)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
    // …but the next invoice carries it as a 0.00 adjustment, and then P2 reconciles (it stayed a mismatch before).
    const p3End = shanghaiDay(y, m + 1, 1);
    const clock3 = new Date(p3End.getTime() + 2 * HOUR);
    await subscriptions.rollPeriods(clock3);
    await invoices.closePeriods(clock3);
    const p3Invoice = (await invoicesOf()).find((i) => new Date(i.periodStart).getTime() === p2.end.getTime());
    expect(p3Invoice?.document.lines.filter((l) => l.kind === 'adjustment')).toEqual([expect.objectContaining({ code: 'seats', units: '-1', amount: '0.00' })]);
    const recon = await json<{ mismatches: Array<{ customer: string }> }>(api.get(`/api/v1/billing/reconciliation?from=${p2.start.toISOString()}&to=${p3End.toISOString()}`));
    expect(recon.mismatches.filter((x) => x.customer === 'c-neg')).toEqual([]);
    expect(await corrections.correctFinalizedPeriods(clock3)).toEqual({ creditNotes: 0, adjustmentInvoices: 0, failed: 0 });
  }, 240_000);
});
