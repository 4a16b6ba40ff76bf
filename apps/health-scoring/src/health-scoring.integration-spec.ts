import { randomUUID } from 'node:crypto';
import {
  customerKey,
  customerMeterKey,
  subscriptionKey,
  TOPICS,
  type AccountStatusChanged,
  type ApiKeyChanged,
  type ChurnRiskChanged,
  type CustomerHealth,
  type ExpansionSignal,
  type InvoiceChanged,
  type NpsFeedback,
  type SubscriptionChanged,
  type UsageAggregate,
  type UsageThresholdAlert,
} from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { healthScoringService } from './health-scoring.service';
import { RescoringJob } from './scoring/rescoring.job';

const TENANT = 'acme';
const OTHER = 'beta';
const KEY = 'key-health-acme';
const OTHER_KEY = 'key-health-beta';
const DAY = 86_400_000;
const DEBOUNCE_MS = 2_000;

/**
 * A scripted stretch of a quarter for a few customers, with the expected numbers worked out by hand from
 * the documented input functions (default weights usage 40, billing 30, support 20, NPS 10):
 * - c-1, power user: 1300 of 1000 included api-calls in the last 30 days (20 active days), 1000 the 30
 *   before, NPS 10, overage in this and the previous period -> excellent, two expansion signals;
 * - c-2, at risk: 200 of 1000 used (5 active days) after 1000, past due with a failed payment -> red;
 * - c-3, healthy, then an urgent ticket and a detractor answer (sharp drop), then the ticket ages and its
 *   use thins out with no new event at all -> yellow after 14 days;
 * - c-poison: its rescoring fails (a trigger refuses its history rows) until fixed: isolated, retried.
 */
describe('health-scoring service (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const config = suite.serviceConfig(healthScoringService, {
    HEALTH_RESCORE_DEBOUNCE_MS: String(DEBOUNCE_MS),
    HEALTH_RESCORE_INTERVAL_MS: '3600000', // the job's clock is driven by the test (explicit times)
    HEALTH_RESCORE_RETRY_BASE_MS: '0',
  });
  let service: ServiceApp;
  let base: string;
  let collector: TopicCollector;
  const T = Date.now();
  const at = (ms: number) => new Date(T + ms).toISOString();
  const dayOf = (daysAgo: number) => new Date(T - daysAgo * DAY).toISOString().slice(0, 10) + 'T00:00:00Z';
  const env = (tenant = TENANT, occurredAt = new Date().toISOString()) => ({ eventId: randomUUID(), occurredAt, tenant });
  const schema = suite.schema('health-scoring');
  const produced = new Map<string, number>();

  const on = <V extends { customer: string; tenant: string }>(topic: string, customer: string, tenant = TENANT) =>
    collector.on<V>(topic).filter((m) => m.value.customer === customer && m.value.tenant === tenant).map((m) => m.value);
  const health = (c: string, tenant = TENANT) => on<CustomerHealth>(TOPICS.customersHealth, c, tenant);
  const risk = (c: string) => on<ChurnRiskChanged>(TOPICS.customersChurnRisk, c);
  const expansion = (c: string) => on<ExpansionSignal>(TOPICS.customersExpansion, c);
  const scores = (c: string) => health(c).map((h) => [h.score, h.band]);

  const produce = async (topic: string, messages: Array<{ key: string; value: unknown }>) => {
    await suite.produce(topic, messages);
    produced.set(topic, (produced.get(topic) ?? 0) + messages.length);
  };
  /** Every produced message consumed and everything it caused published. */
  const settled = () =>
    expectEventually(async () => {
      for (const [topic, count] of produced) {
        const [row] = await suite.query<{ n: number }>(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM "${schema}".consumer_offsets WHERE topic = $1`, [suite.topic(topic)]);
        expect([topic, row.n]).toEqual([topic, count]);
      }
      const [pending] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`);
      expect(pending.n).toBe(0);
    });
  const http = (method: string, path: string, body?: unknown, key = KEY) =>
    fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  /** What the health API answers, loosely typed for assertions. */
  interface ApiBody {
    items: Array<{ customer: string; score: number }>;
    nextCursor: string | null;
    history: Array<{ score: number; churnRisk: string | null }>;
  }
  const json = async (res: Response | Promise<Response>): Promise<ApiBody> => (await (await res).json()) as ApiBody;
  const job = () => service.app.get(RescoringJob);
  const start = async () => {
    service = await createServiceApp(healthScoringService, config);
    await service.app.listen(0, '127.0.0.1');
    base = await service.app.getUrl();
  };

  const days = (customer: string, from: number, to: number, value: number, version = 1) =>
    Array.from({ length: to - from + 1 }, (_, i) => aggregate(customer, from + i, value, version));
  const aggregate = (customer: string, daysAgo: number, value: number, version: number): { key: string; value: UsageAggregate } => ({
    key: customerMeterKey(TENANT, customer, 'api-calls'),
    value: {
      ...env(), customer, meter: 'api-calls', windowKind: 'DAY', windowStart: dayOf(daysAgo), windowEnd: dayOf(daysAgo - 1),
      value: String(value), eventCount: 1, lastEventTime: dayOf(daysAgo), version,
    },
  });
  const subscription = (customer: string): { key: string; value: SubscriptionChanged } => ({
    key: subscriptionKey(TENANT, customer, `sub-${customer}`),
    value: {
      ...env(), customer, subscriptionId: `sub-${customer}`, plan: 'pro', status: 'active', periodStart: at(-10 * DAY), periodEnd: at(20 * DAY),
      entitlements: [{ meter: 'api-calls', included: '1000', thresholds: [50, 75, 90, 100], hardLimit: false }],
    },
  });
  const invoice = (customer: string, status: InvoiceChanged['status'], occurredAt: string, dueAt: string): { key: string; value: InvoiceChanged } => ({
    key: customerKey(TENANT, customer),
    value: { ...env(TENANT, occurredAt), customer, invoiceId: `inv-${customer}`, subscriptionId: `sub-${customer}`, status, currency: 'EUR', periodStart: at(-40 * DAY), periodEnd: at(-10 * DAY), total: '49.00', dueAt },
  });
  const overage = (customer: string, periodStart: string, periodEnd: string, eventId: string): { key: string; value: UsageThresholdAlert } => ({
    key: customerKey(TENANT, customer),
    value: { ...env(), eventId, customer, meter: 'api-calls', periodStart, periodEnd, kind: 'overage', thresholdPercent: 100, usage: '1000', included: '1000' },
  });
  const nps = (customer: string, score: number, occurredAt: string, tenant = TENANT): { key: string; value: NpsFeedback } => ({
    key: customerKey(tenant, customer), value: { ...env(tenant, occurredAt), customer, score },
  });

  beforeAll(async () => {
    await suite.createTopics();
    const key = (tenant: string, secret: string): ApiKeyChanged => ({ ...env(tenant), keyId: randomUUID(), keyHash: hashApiKey(secret), revoked: false });
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k1', key(TENANT, KEY)), suite.signedApiKeyMessage('k2', key(OTHER, OTHER_KEY))]);
    await start();
    collector = await suite.collect([TOPICS.customersHealth, TOPICS.customersChurnRisk, TOPICS.customersExpansion]);
    // A real Postgres failure for one customer: its history rows are refused until the trigger goes.
    await suite.query(`CREATE FUNCTION "${schema}".refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW.customer = 'c-poison' THEN RAISE EXCEPTION 'history refused for c-poison'; END IF; RETURN NEW; END $$`);
    await suite.query(`CREATE TRIGGER refuse_poison BEFORE INSERT ON "${schema}".score_history FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_poison()`);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('scores a quarter of facts, signals each transition once, ages scores daily and survives a restart', async () => {
    // --- The facts of the last 60 days arrive (in bursts, some twice, one window re-published lower).
    await produce(TOPICS.billingSubscriptions, [subscription('c-1'), subscription('c-2')]);
    const c1Day5 = [aggregate('c-1', 5, 500, 1), aggregate('c-1', 5, 65, 2), aggregate('c-1', 5, 500, 1)]; // newest version wins, never added
    await produce(TOPICS.usageAggregates, [
      ...days('c-1', 1, 4, 65), ...days('c-1', 6, 20, 65), ...c1Day5, ...days('c-1', 31, 50, 50),
      ...days('c-2', 1, 5, 40), ...days('c-2', 31, 50, 50),
      ...days('c-3', 1, 20, 10), ...days('c-3', 31, 50, 10),
    ]);
    const c1Overage = [overage('c-1', at(-40 * DAY), at(-10 * DAY), 'ov-1'), overage('c-1', at(-10 * DAY), at(20 * DAY), 'ov-2')];
    await produce(TOPICS.alertsUsageThreshold, c1Overage);
    await produce(TOPICS.billingAccountStatus, [
      { key: customerKey(TENANT, 'c-2'), value: { ...env(), customer: 'c-2', status: 'past_due', overdueInvoices: 1 } satisfies AccountStatusChanged },
      { key: customerKey(TENANT, 'c-3'), value: { ...env(), customer: 'c-3', status: 'good_standing', overdueInvoices: 0 } satisfies AccountStatusChanged },
    ]);
    await produce(TOPICS.billingInvoices, [
      invoice('c-2', 'finalized', at(-10 * DAY - 3600_000), at(-10 * DAY)),
      invoice('c-2', 'payment_failed', at(-10 * DAY), at(-10 * DAY)),
      invoice('c-3', 'paid', at(-15 * DAY), at(-20 * DAY)), // paid five days late
      invoice('c-3', 'finalized', at(-21 * DAY), at(-20 * DAY)), // arrives after "paid": changes nothing
    ]);
    await produce(TOPICS.feedbackNps, [nps('c-1', 10, at(-2 * DAY)), nps('c-3', 8, at(-40 * DAY)), nps('c-poison', 9, at(-1 * DAY))]);
    await settled();
    // Debounced: nobody is scored while the burst settles.
    expect(collector.on(TOPICS.customersHealth)).toEqual([]);
    const [usageRow] = await suite.query<{ value: string; version: string }>(`SELECT value::text, version::text FROM "${schema}".usage_days WHERE customer = 'c-1' AND day = $1::date`, [dayOf(5).slice(0, 10)]);
    expect(usageRow).toEqual({ value: '65', version: '2' });

    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    const first = await job().tick(new Date());
    expect(first).toEqual({ rescored: 3, failed: 1 });
    await settled();
    // c-1: usage 100 (level capped) + 30 bonus = 130 -> 52 + 30 + 20 + 10 = 112.
    expect(health('c-1')).toMatchObject([{ score: 112, band: 'excellent', inputs: { usage: 130, billing: 100, support: 100, nps: 100 }, contributions: { usage: 52, billing: 30, support: 20, nps: 10 } }]);
    // c-2: usage 0.4*20 + 0.3*20 + 0.3*25 = 21.5; billing 40 - 25 = 15; NPS unknown 50 -> 8.6 + 4.5 + 20 + 5 = 38.1 -> 38.
    expect(health('c-2')).toMatchObject([{ score: 38, band: 'red', inputs: { usage: 21.5, billing: 15, support: 100, nps: 50 } }]);
    // c-3: no entitlement -> usage = half trend (100) + half active days (100) = 100; billing 100 - 15 (late) = 85; NPS 80 -> 40 + 25.5 + 20 + 8 = 93.5 -> 94.
    expect(health('c-3')).toMatchObject([{ score: 94, band: 'green', inputs: { usage: 100, billing: 85, support: 100, nps: 80 } }]);
    expect(health('c-poison')).toEqual([]);
    expect(risk('c-2')).toMatchObject([{ previousBand: null, band: 'red', score: 38, trigger: 'entered_band', recommendedAction: 'csm_review_now',
      reasons: ['product usage at 21.5 of 100 (-31.4 points)', 'billing status at 15 of 100 (-25.5 points)', 'NPS at 50 of 100 (-5 points)'] }]);
    expect(risk('c-1')).toEqual([]);
    expect(risk('c-3')).toEqual([]);
    expect(expansion('c-1').map((e) => [e.signal, e.periodStart ?? null]).sort()).toEqual([['excellent_band', null], ['repeated_overage', new Date(at(-10 * DAY)).toISOString()]]);

    // --- The failing customer is listed, retried, and scored once the cause is gone.
    const failures = await json(http('GET', '/api/v1/health/rescore-failures'));
    expect(failures.items).toMatchObject([{ customer: 'c-poison', attempts: 1, error: expect.stringContaining('history refused for c-poison') }]);
    expect(await job().tick(new Date())).toEqual({ rescored: 0, failed: 1 });
    await suite.query(`DROP TRIGGER refuse_poison ON "${schema}".score_history`);
    expect(await job().tick(new Date())).toEqual({ rescored: 1, failed: 0 });
    await settled();
    // Usage 0 (no use), billing 100, support 100, NPS 90: 0 + 30 + 20 + 9 = 59, first scored in yellow.
    expect(scores('c-poison')).toEqual([[59, 'yellow']]);
    expect(risk('c-poison')).toMatchObject([{ band: 'yellow', trigger: 'entered_band', recommendedAction: 'automated_guidance' }]);
    expect((await json(http('GET', '/api/v1/health/rescore-failures'))).items).toEqual([]);

    // --- Over HTTP: an urgent ticket for c-3 (rescored at once: last scored over the debounce time ago).
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    const ticket = await http('POST', '/api/v1/support-tickets', { ticketId: 'T-1', customer: 'c-3', status: 'open', priority: 'urgent', openedAt: at(0), updatedAt: at(1000) });
    expect(ticket.status).toBe(202);
    produced.set(TOPICS.supportTickets, 1);
    await settled();
    // Support 100 - 35 = 65: 40 + 25.5 + 13 + 8 = 86.5 -> 87.
    await expectEventually(() => expect(scores('c-3')).toEqual([[94, 'green'], [87, 'green']]));
    // A detractor answer, sent twice (a retrying survey tool): NPS 20 + (2 - 8) * 5 = -10, clamped to 0 -> 78.5 -> 79, 15 below the week's 94.
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    const answer = { customer: 'c-3', score: 2, responseId: 'survey-7' };
    expect((await http('POST', '/api/v1/nps-responses', answer)).status).toBe(202);
    expect((await http('POST', '/api/v1/nps-responses', [answer])).status).toBe(202);
    produced.set(TOPICS.feedbackNps, (produced.get(TOPICS.feedbackNps) ?? 0) + 2);
    await settled();
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    await job().tick(new Date()); // the duplicate was debounced: rescored, nothing moves
    await settled();
    expect(scores('c-3')).toEqual([[94, 'green'], [87, 'green'], [79, 'green']]);
    expect(risk('c-3')).toMatchObject([{ previousBand: 'green', band: 'green', score: 79, previousScore: 87, trigger: 'sharp_drop', recommendedAction: 'automated_guidance', reasons: ['NPS 80 -> 0 (-8 points)'] }]);
    const bad = await http('POST', '/api/v1/nps-responses', { customer: 'c-3', score: 11, scroe: 1 });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ pointer: '/score' }, { pointer: '/scroe', detail: 'is not a known field' }] });

    // --- Weights per tenant: another tenant weighs five inputs; acme's key cannot see its customers.
    const refused = await http('PUT', '/api/v1/health/weights', { weights: { usage: 40, billing: 30, support: 20, nps: 11 } }, OTHER_KEY);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ errors: [{ pointer: '/weights', detail: 'weights must sum to 100 (got 101)' }] });
    const weights = { usage: 20, billing: 20, support: 20, nps: 30, activation: 10 };
    expect((await http('PUT', '/api/v1/health/weights', { weights }, OTHER_KEY)).status).toBe(200);
    expect(await (await http('GET', '/api/v1/health/weights', undefined, OTHER_KEY)).json()).toEqual({ weights, isDefault: false });
    await produce(TOPICS.feedbackNps, [nps('b-1', 10, at(0), OTHER)]);
    await settled();
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    await job().tick(new Date());
    await settled();
    // 0 (usage) + 20 + 20 + 30 + 0 (activation: nothing used) = 70.
    expect(health('b-1', OTHER)).toMatchObject([{ score: 70, band: 'yellow', inputs: { usage: 0, billing: 100, support: 100, nps: 100, activation: 0 }, weights }]);
    expect((await http('GET', '/api/v1/customers/b-1/health')).status).toBe(404);

    // --- Restart: nothing is published again, and redelivered facts change nothing.
    const before = collector.messages.length;
    await service.app.close();
    await start();
    await produce(TOPICS.alertsUsageThreshold, c1Overage);
    await settled();
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 100));
    await job().tick(new Date());
    await settled();
    await new Promise((r) => setTimeout(r, 500));
    expect(collector.messages.length).toBe(before);

    // --- Days pass with no event. +7 days: the ticket is 7 days old (35 * 1.5 = 52.5 -> support 47.5): 40 + 25.5 + 9.5 = 75;
    // 19 below the week's high, but a sharp drop was signalled 7 days ago at most once a week: no signal. Others unchanged.
    await job().tick(new Date(T + 7 * DAY));
    await settled();
    expect(scores('c-3').slice(3)).toEqual([[75, 'green']]);
    expect(risk('c-3')).toHaveLength(1);
    expect(health('c-1')).toHaveLength(1);
    expect(health('c-2')).toHaveLength(1);
    // +14 days: c-3's ticket weighs double (support 30 -> 6) and its use thinned (current window 15 days of 10 against 20:
    // trend 75, active 75 -> usage 75 -> 30): 30 + 25.5 + 6 + 0 = 61.5 -> 62, yellow.
    await job().tick(new Date(T + 14 * DAY));
    await settled();
    expect(scores('c-3').slice(4)).toEqual([[62, 'yellow']]);
    expect(risk('c-3')[1]).toMatchObject({ previousBand: 'green', band: 'yellow', score: 62, trigger: 'entered_band', recommendedAction: 'automated_guidance',
      reasons: ['product usage 100 -> 75 (-10 points)', 'support tickets 47.5 -> 30 (-3.5 points)'] });
    // c-1: 975 used in the window (97.5 %, no bonus), trend 975/1075, 15 active days -> usage 88.71 -> 35.484 + 60 = 95.48 -> 95,
    // 17 below 112: a sharp drop out of excellent.
    expect(scores('c-1')).toEqual([[112, 'excellent'], [95, 'green']]);
    expect(risk('c-1')).toMatchObject([{ previousBand: 'excellent', band: 'green', trigger: 'sharp_drop', reasons: ['product usage 130 -> 88.71 (-16.52 points)'] }]);
    // c-2: prior window now 15 days of 50 = 750 -> trend 26.67 -> usage 23.5 -> 9.4 + 4.5 + 20 + 5 = 38.9 -> 39, still red: no signal.
    expect(scores('c-2')).toEqual([[38, 'red'], [39, 'red']]);
    expect(risk('c-2')).toHaveLength(1);
    expect(expansion('c-1')).toHaveLength(2);

    // --- Every event once.
    const ids = collector.messages.map((m) => String(m.value.eventId));
    expect(new Set(ids).size).toBe(ids.length);

    // --- The API: one customer with its history, a list by band, paginated.
    const c3 = await json(http('GET', '/api/v1/customers/c-3/health'));
    expect(c3).toMatchObject({ customer: 'c-3', score: 62, band: 'yellow' });
    expect(c3.history.map((h) => h.score)).toEqual([62, 75, 79, 87, 94]);
    expect(c3.history[2]).toMatchObject({ churnRisk: 'sharp_drop' });
    const red = await json(http('GET', '/api/v1/customers/health?band=red'));
    expect(red).toMatchObject({ items: [{ customer: 'c-2', score: 39 }], nextCursor: null });
    const page1 = await json(http('GET', '/api/v1/customers/health?limit=2'));
    expect([page1.items.map((i) => i.customer), page1.nextCursor]).toEqual([['c-1', 'c-2'], 'c-2']);
    const page2 = await json(http('GET', '/api/v1/customers/health?limit=2&after=c-2'));
    expect([page2.items.map((i) => i.customer), page2.nextCursor]).toEqual([['c-3', 'c-poison'], null]);
    expect((await http('GET', '/api/v1/customers/health?band=purple')).status).toBe(400);
  });
});
