import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { customerKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageEvent } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { aggregationService } from './aggregation.service';

const ROOT = path.resolve(__dirname, '../../..');

interface QueryBody {
  aggregation: string | null;
  data: Array<{ subject: string | null; value: string; windowStart: string; groupBy: Record<string, string | null> }>;
  errors?: Array<{ pointer: string }>;
}
const DAY = 86_400_000;

function usageEvent(tenant: string, subject: string, id: string, time: Date, calls: number, user = 'u1', region = 'eu'): UsageEvent {
  return {
    eventId: `${tenant}:${id}`,
    occurredAt: time.toISOString(),
    tenant,
    id,
    source: 'gw',
    type: 'api.call',
    subject,
    time: time.toISOString(),
    data: { calls, user, region },
    readings: [
      { meter: 'api-calls', aggregation: 'SUM', value: String(calls), groupBy: { region } },
      { meter: 'users', aggregation: 'UNIQUE_COUNT', value: user, groupBy: {} },
    ],
  };
}

const keyEvent = (tenant: string, key: string): ApiKeyChanged => ({
  eventId: randomUUID(),
  occurredAt: new Date().toISOString(),
  tenant,
  keyId: randomUUID(),
  keyHash: hashApiKey(key),
  revoked: false,
});

describe('aggregation service (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let collector: TopicCollector;
  const t0 = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY + 10 * 3_600_000); // 10:00 UTC, three days ago
  const get = (path: string, key: string, accept = 'application/json') => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, accept } });
  const query = async (path: string, key: string) => (await (await get(path, key)).json()) as QueryBody;

  beforeAll(async () => {
    await suite.createTopics();
    await suite.produce(TOPICS.catalogApiKeys, [
      suite.signedApiKeyMessage('k-acme', keyEvent('acme', 'key-acme')),
      suite.signedApiKeyMessage('k-globex', keyEvent('globex', 'key-globex')),
    ]);
    service = await createServiceApp(aggregationService, suite.serviceConfig(aggregationService));
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    collector = await suite.collect([TOPICS.usageAggregates]);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  const produceUsage = (events: UsageEvent[]) => suite.produce(TOPICS.usageEvents, events.map((e) => ({ key: customerKey(e.tenant, e.subject), value: e })));
  const periodTotal = async (tenant: string, customer: string, meter: string) => {
    const rows = await suite.query<{ sum_value: string; distinct_count: string; event_count: string }>(
      `SELECT sum_value::text, distinct_count::text, event_count::text FROM "${suite.schema('aggregation')}".window_aggregates
       WHERE tenant = $1 AND customer = $2 AND meter = $3 AND window_kind = 'PERIOD'`,
      [tenant, customer, meter],
    );
    return rows;
  };

  it('counts duplicates once (in one batch, across batches) and puts late events in their own window, re-emitting it', async () => {
    const e1 = usageEvent('acme', 'c-dup', 'd1', t0, 5);
    const e2 = usageEvent('acme', 'c-dup', 'd2', new Date(t0.getTime() + 60_000), 7);
    await produceUsage([e1, e1, e2]);
    await produceUsage([e2, e1]);
    const late = usageEvent('acme', 'c-dup', 'late', new Date(t0.getTime() - DAY), 100);
    await expectEventually(async () => expect((await periodTotal('acme', 'c-dup', 'api-calls')).map((r) => r.event_count)).toEqual(['2']));
    await produceUsage([late]);
    await expectEventually(async () => {
      const days = await suite.query<{ window_start: Date; sum_value: string; version: string }>(
        `SELECT window_start, sum_value::text, version::text FROM "${suite.schema('aggregation')}".window_aggregates
         WHERE customer = 'c-dup' AND meter = 'api-calls' AND window_kind = 'DAY' ORDER BY window_start`,
      );
      expect(days.map((d) => d.sum_value)).toEqual(['100', '12']);
    });
    const dayAggregates = await expectEventually(() => {
      const list = collector.on<{ customer: string; meter: string; windowKind: string; windowStart: string; value: string; version: number }>(TOPICS.usageAggregates)
        .filter((m) => m.value.customer === 'c-dup' && m.value.meter === 'api-calls' && m.value.windowKind === 'DAY');
      expect(list.some((m) => m.value.value === '100')).toBe(true);
      return list;
    });
    const today = dayAggregates.filter((m) => m.value.windowStart === new Date(Math.floor(t0.getTime() / DAY) * DAY).toISOString());
    expect(today[today.length - 1].value).toMatchObject({ value: '12' });
    // Versions rise with every change of a window, so consumers can apply them idempotently.
    const versions = today.map((m) => m.value.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('answers queries that match a reference computed from the raw events (windows, time zone, distinct counts, group-by), per tenant', async () => {
    const events: UsageEvent[] = [];
    for (let i = 0; i < 120; i++) {
      // Spread over 48 hours from 22:00 UTC two days before t0 so days differ between UTC and Berlin.
      const time = new Date(t0.getTime() - 36 * 3_600_000 + i * 24 * 60_000);
      events.push(usageEvent('acme', i % 2 ? 'q-1' : 'q-2', `q${i}`, time, (i % 7) + 1, `user-${i % 13}`, i % 3 ? 'eu' : 'us'));
    }
    await produceUsage(events);
    await produceUsage([usageEvent('globex', 'q-1', 'g1', events[0] ? new Date(events[0].time) : t0, 1000)]);
    const from = new Date(t0.getTime() - 3 * DAY).toISOString();
    const to = new Date(t0.getTime() + DAY).toISOString();
    const total = (list: UsageEvent[]) => String(list.reduce((s, e) => s + Number(e.data.calls), 0));

    const whole = await expectEventually(async () => {
      const body = await query(`/api/v1/meters/api-calls/query?subject=q-1&subject=q-2&from=${from}&to=${to}`, 'key-acme');
      expect(body.data.map((r) => [r.subject, r.value])).toEqual([
        ['q-1', total(events.filter((e) => e.subject === 'q-1'))],
        ['q-2', total(events.filter((e) => e.subject === 'q-2'))],
      ]);
      return body;
    });
    expect(whole.aggregation).toBe('SUM');

    const berlinDay = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(new Date(iso));
    const expectedByDay = new Map<string, number>();
    for (const e of events.filter((x) => x.subject === 'q-1')) expectedByDay.set(berlinDay(e.time), (expectedByDay.get(berlinDay(e.time)) ?? 0) + Number(e.data.calls));
    const byDay = await query(`/api/v1/meters/api-calls/query?subject=q-1&from=${from}&to=${to}&windowSize=DAY&windowTimeZone=Europe/Berlin`, 'key-acme');
    expect(byDay.data.map((r) => [berlinDay(r.windowStart), r.value])).toEqual(
      [...expectedByDay].sort().map(([d, v]) => [d, String(v)]),
    );
    // Berlin midnight is 22:00 or 23:00 UTC, never 00:00.
    expect(byDay.data.every((r) => /T2[23]:00:00/.test(r.windowStart))).toBe(true);

    const users = await query(`/api/v1/meters/users/query?from=${from}&to=${to}`, 'key-acme');
    const expectedUsers = new Set([...events.map((e) => e.data.user), 'u1']).size; // u1 from the duplicates test
    expect(users.data).toEqual([expect.objectContaining({ value: String(expectedUsers) })]);

    const regions = await query(`/api/v1/meters/api-calls/query?subject=q-2&from=${from}&to=${to}&groupBy=region`, 'key-acme');
    for (const region of ['eu', 'us']) {
      const row = regions.data.find((r) => r.groupBy.region === region)!;
      expect(row.value).toBe(total(events.filter((e) => e.subject === 'q-2' && e.data.region === region)));
    }

    // Another tenant's key sees only its own usage; an unknown key nothing at all.
    // globex's event and key travel apart from acme's, so they may land a little later.
    await expectEventually(async () => {
      const globex = await query(`/api/v1/meters/api-calls/query?subject=q-1&from=${from}&to=${to}`, 'key-globex');
      expect(globex.data?.map((r) => r.value)).toEqual(['1000']);
    });
    expect((await get(`/api/v1/meters/api-calls/query`, 'key-nobody')).status).toBe(401);
    const bad = await get(`/api/v1/meters/api-calls/query?windowSize=WEEK&windowTimeZone=Mars/Olympus`, 'key-acme');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as QueryBody).errors?.map((e) => e.pointer).sort()).toEqual(['/windowSize', '/windowTimeZone']);

    // Events: pages follow the cursor to the end; CSV has one line per reading of the meter.
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await (
        await get(`/api/v1/events?subject=q-1&from=${from}&to=${to}&limit=25${cursor ? `&cursor=${cursor}` : ''}`, 'key-acme')
      ).json()) as { data: Array<{ id: string }>; nextCursor: string | null };
      seen.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor;
    }
    expect(seen.sort()).toEqual(events.filter((e) => e.subject === 'q-1').map((e) => e.id).sort());
    const csv = await (await get(`/api/v1/events?subject=q-1&meter=api-calls&from=${from}&to=${to}`, 'key-acme', 'text/csv')).text();
    const lines = csv.trim().split('\n');
    expect(lines[0]).toBe('time,id,source,type,subject,meter,value,ingested_at,data');
    expect(lines).toHaveLength(61);
    expect(lines.slice(1).reduce((s, l) => s + Number(l.split(',')[6]), 0)).toBe(Number(total(events.filter((e) => e.subject === 'q-1'))));
  });

  it('sums gauges over time (GB -> GB-hours): late readings re-split their window and the one they carry into', async () => {
    // The 10th of last month, so every reading and its calendar-month PERIOD window are in one month.
    const now = new Date();
    const D = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 10);
    const monthEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const H = 3_600_000;
    const gauge = (id: string, at: number, gb: number, region: string): UsageEvent => ({
      ...usageEvent('acme', 'g-1', id, new Date(at), 0),
      type: 'storage.snapshot',
      data: { gb, region },
      readings: [{ meter: 'storage', aggregation: 'TIME_WEIGHTED_SUM', value: String(gb), groupBy: { region } }],
    });
    const dayValues = () =>
      suite.query<{ window_start: Date; sum_value: string; version: string }>(
        `SELECT window_start, trim_scale(sum_value)::text AS sum_value, version::text FROM "${suite.schema('aggregation')}".window_aggregates
         WHERE customer = 'g-1' AND meter = 'storage' AND window_kind = 'DAY' ORDER BY window_start`,
      );
    await produceUsage([gauge('s1', D + 6 * H, 10, 'eu'), gauge('s2', D + 12 * H, 5, 'us'), gauge('s3', D + 18 * H, 2, 'eu'), gauge('s4', D + 36 * H, 1, 'eu')]);
    // Day D: eu 10 x 12 h + 2 x 6 h, us 5 x 12 h. Day D+1: eu 2 x 12 h + 1 x 12 h, us 5 x 24 h.
    await expectEventually(async () => expect((await dayValues()).map((d) => d.sum_value)).toEqual(['192', '156']));
    const before = await dayValues();

    // Late: 4 GB from 20:00 the day before (carried into day D until 06:00), and eu down to 0 at 23:00 on day D
    // (carried into D+1 until noon).
    await produceUsage([gauge('s0', D - 4 * H, 4, 'eu'), gauge('s5', D + 23 * H, 0, 'eu')]);
    // D-1: 4 x 4 h. D: eu 4 x 6 + 10 x 12 + 2 x 5 + 0 x 1, us 60. D+1: eu 0 x 12 + 1 x 12, us 120.
    await expectEventually(async () => expect((await dayValues()).map((d) => d.sum_value)).toEqual(['16', '214', '132']));
    const after = await dayValues();
    expect(Number(after[2].version)).toBeGreaterThan(Number(before[1].version));
    const published = await expectEventually(() => {
      const list = collector.on<{ customer: string; meter: string; windowKind: string; windowStart: string; value: string; version: number }>(TOPICS.usageAggregates)
        .filter((m) => m.value.customer === 'g-1' && m.value.windowKind === 'DAY' && m.value.windowStart === new Date(D + 24 * H).toISOString());
      expect(list.map((m) => m.value.value)).toContain('132');
      return list;
    });
    expect(published[published.length - 1].value.value).toBe('132');

    // The period holds the last values to its end: eu 4 x 10 + 10 x 12 + 2 x 5 + 0 x 13 + 1 x (to month end), us 5 x (to month end).
    const expectedPeriod = 40 + 120 + 10 + (monthEnd - (D + 36 * H)) / H + (5 * (monthEnd - (D + 12 * H))) / H;
    await expectEventually(async () => {
      const [period] = await suite.query<{ v: string }>(
        `SELECT trim_scale(sum_value)::text AS v FROM "${suite.schema('aggregation')}".window_aggregates
         WHERE customer = 'g-1' AND meter = 'storage' AND window_kind = 'PERIOD'`,
      );
      expect(period.v).toBe(String(expectedPeriod));
    });

    const iso = (t: number) => new Date(t).toISOString();
    const q = (params: string) => query(`/api/v1/meters/storage/query?subject=g-1&${params}`, 'key-acme');
    const utcDays = await q(`from=${iso(D - 24 * H)}&to=${iso(D + 48 * H)}&windowSize=DAY`);
    expect(utcDays.aggregation).toBe('TIME_WEIGHTED_SUM');
    expect(utcDays.data.map((r) => [r.windowStart, r.value])).toEqual([[iso(D - 24 * H), '16'], [iso(D), '214'], [iso(D + 24 * H), '132']]);
    // Kolkata (+05:30) days start at 18:30 UTC: D-1 18:30..D 18:30 holds eu 4 x 10 + 10 x 12 + 2 x 0.5, us 5 x 6.5.
    const kolkata = await q(`from=${iso(D - 24 * H)}&to=${iso(D + 48 * H)}&windowSize=DAY&windowTimeZone=Asia/Kolkata`);
    expect(kolkata.data.map((r) => [r.windowStart, r.value])).toEqual([
      [iso(D - 5.5 * H), '193.5'],
      [iso(D + 18.5 * H), '135.5'],
      [iso(D + 42.5 * H), '33'],
    ]);
    const byRegion = await q(`from=${iso(D)}&to=${iso(D + 24 * H)}&groupBy=region`);
    expect(byRegion.data.map((r) => [r.groupBy.region, r.value])).toEqual([['eu', '154'], ['us', '60']]);
    // No reading inside the range: the values held from before it still count (eu 1 + us 5 for one hour).
    expect((await q(`from=${iso(D + 37 * H)}&to=${iso(D + 38 * H)}`)).data.map((r) => r.value)).toEqual(['6']);
  });

  it('carries a late gauge reading through every later window until its series reports again, also past rows made by another series', async () => {
    const now = new Date();
    const D = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 5);
    const H = 3_600_000;
    const gauge = (id: string, at: number, gb: number, region: string): UsageEvent => ({
      ...usageEvent('acme', 'g-2', id, new Date(at), 0),
      type: 'storage.snapshot',
      data: { gb, region },
      readings: [{ meter: 'storage', aggregation: 'TIME_WEIGHTED_SUM', value: String(gb), groupBy: { region } }],
    });
    const dayValues = async () =>
      (
        await suite.query<{ v: string }>(
          `SELECT trim_scale(sum_value)::text AS v FROM "${suite.schema('aggregation')}".window_aggregates
           WHERE customer = 'g-2' AND meter = 'storage' AND window_kind = 'DAY' ORDER BY window_start`,
        )
      ).map((r) => r.v);
    // eu holds 10 from day D to D+3; us reports on D+1, D+2 and D+3, so those days have rows without an eu reading.
    await produceUsage([gauge('t1', D, 10, 'eu'), gauge('t2', D + 36 * H, 1, 'us'), gauge('t3', D + 60 * H, 1, 'us'), gauge('t4', D + 72 * H, 0, 'eu')]);
    // D: eu 240. D+1: eu 240 + us 12. D+2: eu 240 + us 24. D+3: eu 0, us 24.
    await expectEventually(async () => expect(await dayValues()).toEqual(['240', '252', '264', '24']));
    // Late: eu 20 from noon on D, held until eu's next reading on D+3 — through D+1 and D+2.
    await produceUsage([gauge('t5', D + 12 * H, 20, 'eu')]);
    await expectEventually(async () => expect(await dayValues()).toEqual(['360', '492', '504', '24']));
  });

  it("keeps a customer's PERIOD window whole when one of two subscriptions sharing it is canceled early", async () => {
    const periodStart = new Date(Math.floor(Date.now() / DAY) * DAY - 10 * DAY);
    const periodEnd = new Date(periodStart.getTime() + 30 * DAY);
    const canceledAt = new Date(periodStart.getTime() + 4 * DAY);
    const subscription = (id: string, status: SubscriptionChanged['status'], end: Date): { key: string; value: SubscriptionChanged } => ({
      key: subscriptionKey('acme', 'c-two', id),
      value: {
        eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: 'c-two', subscriptionId: id, plan: 'p',
        status, periodStart: periodStart.toISOString(), periodEnd: end.toISOString(), entitlements: [],
      },
    });
    await suite.produce(TOPICS.billingSubscriptions, [subscription('sub-a', 'active', periodEnd), subscription('sub-b', 'active', periodEnd)]);
    // sub-a is canceled now: its period ends at the cancellation, sub-b's runs on.
    await suite.produce(TOPICS.billingSubscriptions, [subscription('sub-a', 'canceled', canceledAt)]);
    await expectEventually(async () => {
      const rows = await suite.query<{ subscription_id: string; period_end: Date }>(
        `SELECT subscription_id, period_end FROM "${suite.schema('aggregation')}".customer_periods WHERE customer = 'c-two' ORDER BY subscription_id`,
      );
      expect(rows.map((r) => [r.subscription_id, r.period_end.toISOString()])).toEqual([['sub-a', canceledAt.toISOString()], ['sub-b', periodEnd.toISOString()]]);
    });
    await produceUsage([usageEvent('acme', 'c-two', 'two-1', new Date(periodStart.getTime() + DAY), 3), usageEvent('acme', 'c-two', 'two-2', new Date(canceledAt.getTime() + 2 * DAY), 4)]);
    await expectEventually(async () => {
      const rows = await suite.query<{ window_start: Date; window_end: Date; sum_value: string }>(
        `SELECT window_start, window_end, trim_scale(sum_value)::text AS sum_value FROM "${suite.schema('aggregation')}".window_aggregates
         WHERE customer = 'c-two' AND meter = 'api-calls' AND window_kind = 'PERIOD'`,
      );
      expect(rows.map((r) => [r.window_start.toISOString(), r.window_end.toISOString(), r.sum_value])).toEqual([[periodStart.toISOString(), periodEnd.toISOString(), '7']]);
    });
  });
  it('re-buckets usage counted before its period was known: a backdated subscription and a period published after events past its boundary', async () => {
    const H = 3_600_000;
    // Asia/Shanghai local midnight is 16:00 UTC: an anniversary period from 16:00 UTC five days ago.
    const periodStart = new Date(Math.floor(Date.now() / DAY) * DAY - 5 * DAY - 8 * H);
    const periodEnd = new Date(periodStart.getTime() + 3 * DAY);
    const nextEnd = new Date(periodEnd.getTime() + 30 * DAY);
    const sub = (start: Date, end: Date): { key: string; value: SubscriptionChanged } => ({
      key: subscriptionKey('acme', 'c-late', 's-1'),
      value: {
        eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: 'c-late', subscriptionId: 's-1', plan: 'p',
        status: 'active', periodStart: start.toISOString(), periodEnd: end.toISOString(), entitlements: [],
      },
    });
    const periodRows = async () =>
      (
        await suite.query<{ start: Date; end: Date; v: string; n: string; version: string }>(
          `SELECT window_start AS start, window_end AS "end", trim_scale(sum_value)::text AS v, event_count::text AS n, version::text
           FROM "${suite.schema('aggregation')}".window_aggregates WHERE customer = 'c-late' AND meter = 'api-calls' AND window_kind = 'PERIOD'
           ORDER BY window_start`,
        )
      ).map((r) => [r.start.toISOString(), r.end.toISOString(), r.v, r.n]);
    // 1. Usage before any subscription is known: counted in UTC calendar-month windows.
    const inFirst = [1, 30, 60].map((h, i) => usageEvent('acme', 'c-late', `late-a${i}`, new Date(periodStart.getTime() + h * H), 5));
    // Past the first period's end, before the next period is published.
    const inNext = [1, 2].map((h, i) => usageEvent('acme', 'c-late', `late-b${i}`, new Date(periodEnd.getTime() + h * H), 7));
    // Just before the backdated start: stays in its calendar month.
    const before = usageEvent('acme', 'c-late', 'late-c0', new Date(periodStart.getTime() - H), 100);
    await produceUsage([...inFirst, ...inNext, before]);
    await expectEventually(async () => expect((await periodRows()).reduce((a, r) => a + Number(r[2]), 0)).toBe(129));
    // 2. The subscription arrives, backdated to periodStart: its usage moves into the period.
    await suite.produce(TOPICS.billingSubscriptions, [sub(periodStart, periodEnd)]);
    await expectEventually(async () => {
      const rows = await periodRows();
      expect(rows.find((r) => r[0] === periodStart.toISOString())).toEqual([periodStart.toISOString(), periodEnd.toISOString(), '15', '3']);
      // Everything else is in calendar-month windows: the event before the start and the two after the end.
      expect(rows.filter((r) => r[0] !== periodStart.toISOString()).reduce((a, r) => a + Number(r[2]), 0)).toBe(114);
    });
    // 3. The next period is published late: the two events past the boundary move into it.
    await suite.produce(TOPICS.billingSubscriptions, [sub(periodEnd, nextEnd)]);
    await expectEventually(async () => {
      const rows = await periodRows();
      expect(rows.find((r) => r[0] === periodEnd.toISOString())).toEqual([periodEnd.toISOString(), nextEnd.toISOString(), '14', '2']);
      expect(rows.find((r) => r[0] === periodStart.toISOString())?.[2]).toBe('15');
      // Nothing counted twice, nothing lost: the total over every window is still what was sent.
      expect(rows.reduce((a, r) => a + Number(r[2]), 0)).toBe(129);
      expect(rows.filter((r) => r[2] !== '0').map((r) => r[2]).sort()).toEqual(['100', '14', '15']);
    });
    // Consumers that keep the highest version per window (as billing does) end with the rebuilt windows and
    // the emptied fallback windows at 0: the totals they hold add up to what was sent, once.
    type Published = { windowKind: string; windowStart: string; value: string; version: number; customer: string; meter: string };
    await expectEventually(() => {
      const newest = new Map<string, { value: string; version: number }>();
      for (const a of collector.on<Published>(TOPICS.usageAggregates).map((m) => m.value).filter((a) => a.customer === 'c-late' && a.meter === 'api-calls' && a.windowKind === 'PERIOD')) {
        if ((newest.get(a.windowStart)?.version ?? -1) < a.version) newest.set(a.windowStart, a);
      }
      expect(newest.get(periodStart.toISOString())?.value).toBe('15');
      expect(newest.get(periodEnd.toISOString())?.value).toBe('14');
      expect([...newest.values()].reduce((a, v) => a + Number(v.value), 0)).toBe(129);
    }, 30_000);
  });

  it('keeps heldUnitDays on the PERIOD window of a prorated SUM meter (Asia/Shanghai days), through a rebuild, new events and a plan change that drops proration mid-period', async () => {
    const H = 3_600_000;
    // A 30-day period from Shanghai midnight (16:00 UTC) five days ago.
    const start = new Date(Math.floor(Date.now() / DAY) * DAY - 5 * DAY - 8 * H);
    const end = new Date(start.getTime() + 30 * DAY);
    const seats = (id: string, at: Date, value: string, customer = 'c-prorated'): UsageEvent => ({
      eventId: `acme:${id}`, occurredAt: at.toISOString(), tenant: 'acme', id, source: 'gw', type: 'seat.changed', subject: customer, time: at.toISOString(), data: {},
      readings: [
        { meter: 'seats', aggregation: 'SUM', value, groupBy: {} },
        { meter: 'api-calls', aggregation: 'SUM', value: '1', groupBy: {} },
      ],
    });
    const sub = (customer: string, extra: Partial<SubscriptionChanged>): { key: string; value: SubscriptionChanged } => ({
      key: subscriptionKey('acme', customer, `s-${customer}`),
      value: {
        eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer, subscriptionId: `s-${customer}`, plan: 'seats',
        status: 'active', periodStart: start.toISOString(), periodEnd: end.toISOString(), entitlements: [], ...extra,
      },
    });
    const newest = (customer: string, meter: string) => {
      let best: { value: string; version: number; heldUnitDays?: string } | undefined;
      for (const m of collector.on<{ customer: string; meter: string; windowKind: string; windowStart: string; value: string; version: number; heldUnitDays?: string }>(TOPICS.usageAggregates)) {
        const a = m.value;
        if (a.customer !== customer || a.meter !== meter || a.windowKind !== 'PERIOD' || a.windowStart !== start.toISOString()) continue;
        if (!best || best.version < a.version) best = a;
      }
      return best;
    };
    // 1. Counted before the period is known (UTC calendar months): 3 seats on local day 1 (30 days held),
    //    2 at exactly the local midnight that starts day 2 (29), one removed on day 4 (27): 90 + 58 − 27 = 121.
    await produceUsage([seats('p-1', new Date(start.getTime() + H), '3'), seats('p-2', new Date(start.getTime() + DAY), '2'), seats('p-3', new Date(start.getTime() + 3 * DAY + 5 * H), '-1')]);
    // An old-style subscription message (no time zone, no prorated meters) for another customer with the same events.
    await produceUsage([seats('q-1', new Date(start.getTime() + H), '3', 'c-plain')]);
    await suite.produce(TOPICS.billingSubscriptions, [sub('c-prorated', { timeZone: 'Asia/Shanghai', proratedMeters: ['seats'] }), sub('c-plain', {})]);
    await expectEventually(() => {
      expect(newest('c-prorated', 'seats')).toMatchObject({ value: '4', heldUnitDays: '121' });
      // Another meter of the same window, and the old-style subscription's window: none.
      expect(newest('c-prorated', 'api-calls')).toMatchObject({ value: '3' });
      expect(newest('c-prorated', 'api-calls')?.heldUnitDays).toBeUndefined();
      expect(newest('c-plain', 'seats')).toMatchObject({ value: '3' });
      expect(newest('c-plain', 'seats')?.heldUnitDays).toBeUndefined();
    }, 30_000);
    // 2. New events add to it in the batch's upsert: one more seat on the period's last local day (1 day held).
    await produceUsage([seats('p-4', new Date(end.getTime() - 1), '1')]);
    await expectEventually(() => expect(newest('c-prorated', 'seats')).toMatchObject({ value: '5', heldUnitDays: '122' }), 30_000);
    const stored = await suite.query<{ held: string | null }>(
      `SELECT trim_scale(held_unit_days)::text AS held FROM "${suite.schema('aggregation')}".window_aggregates
       WHERE customer = 'c-prorated' AND meter = 'seats' AND window_kind = 'DAY'`,
    );
    expect(stored.map((r) => r.held)).toEqual([null, null, null, null]);
    const withoutHeld = () =>
      expectEventually(() => {
        expect(newest('c-prorated', 'seats')?.value).toBe('5');
        expect(newest('c-prorated', 'seats')?.heldUnitDays).toBeUndefined();
      }, 30_000);
    // 3. A time zone the runtime does not know: the period is rebuilt without it rather than with a guess.
    await suite.produce(TOPICS.billingSubscriptions, [sub('c-prorated', { timeZone: 'Mars/Olympus', proratedMeters: ['seats'] })]);
    await withoutHeld();
    // 4. Shanghai again: rebuilt from the ledger with every event counted.
    await suite.produce(TOPICS.billingSubscriptions, [sub('c-prorated', { timeZone: 'Asia/Shanghai', proratedMeters: ['seats'] })]);
    await expectEventually(() => expect(newest('c-prorated', 'seats')).toMatchObject({ value: '5', heldUnitDays: '122' }), 30_000);
    // 5. A plan change mid-period to a plan without the prorated charge (no proratedMeters at all, then an empty
    //    list): billing still bills this period's seats on the old plan, prorated, so the period keeps counting
    //    them — a seat on the last local day adds 1 unit-day.
    await suite.produce(TOPICS.billingSubscriptions, [sub('c-prorated', { timeZone: 'Asia/Shanghai' })]);
    await suite.produce(TOPICS.billingSubscriptions, [sub('c-prorated', { timeZone: 'Asia/Shanghai', proratedMeters: [] })]);
    await produceUsage([seats('p-5', new Date(end.getTime() - 1), '1')]);
    await expectEventually(() => expect(newest('c-prorated', 'seats')).toMatchObject({ value: '6', heldUnitDays: '123' }), 30_000);
    const [period] = await suite.query<{ time_zone: string | null; prorated_meters: string[] | null }>(
      `SELECT time_zone, prorated_meters FROM "${suite.schema('aggregation')}".customer_periods WHERE customer = 'c-prorated'`,
    );
    expect(period).toEqual({ time_zone: 'Asia/Shanghai', prorated_meters: ['seats'] });
  });
});

describe('aggregation killed with SIGKILL mid-load', () => {
  const suite = new TestSuite();
  let child: ChildProcess | undefined;

  afterAll(async () => {
    child?.kill('SIGKILL');
    await suite.cleanup();
  });

  const start = () => {
    const proc = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps/aggregation/src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        DB_SCHEMA: suite.schema('aggregation'),
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: '2',
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        LOG_LEVEL: 'error',
        // The restarted member waits for the killed one's session to expire before it gets partitions.
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
      },
      stdio: 'ignore',
    });
    child = proc;
    return proc;
  };
  const applied = async () => {
    const [row] = await suite.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${suite.schema('aggregation')}".event_ids`).catch(() => [{ n: '0' }]);
    return Number(row.n);
  };

  it('restarts to exactly the expected totals: nothing lost, nothing counted twice', async () => {
    await suite.createTopics();
    const customers = 50;
    const unique: UsageEvent[] = [];
    const now = Date.now();
    for (let i = 0; i < 6000; i++) unique.push(usageEvent('acme', `k-${i % customers}`, `e${i}`, new Date(now - (i % 500) * 60_000), (i % 9) + 1));
    // 10 % resent, as a retrying producer would.
    const stream = [...unique, ...unique.filter((_, i) => i % 10 === 0)];
    const first = start();
    for (let i = 0; i < stream.length; i += 500) {
      await suite.produce(TOPICS.usageEvents, stream.slice(i, i + 500).map((e) => ({ key: customerKey(e.tenant, e.subject), value: e })));
    }
    await expectEventually(async () => expect(await applied()).toBeGreaterThan(500), 60_000, 50);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = await applied();
    start();
    await expectEventually(async () => expect(await applied()).toBe(unique.length), 120_000, 250);
    const totals = await suite.query<{ customer: string; sum: string; n: string }>(
      `SELECT customer, sum_value::text AS sum, event_count::text AS n FROM "${suite.schema('aggregation')}".window_aggregates
       WHERE meter = 'api-calls' AND window_kind = 'PERIOD' ORDER BY customer`,
    );
    const expected = new Map<string, { sum: number; n: number }>();
    for (const e of unique) {
      const cur = expected.get(e.subject) ?? { sum: 0, n: 0 };
      expected.set(e.subject, { sum: cur.sum + Number(e.data.calls), n: cur.n + 1 });
    }
    const actual = new Map<string, { sum: number; n: number }>();
    for (const t of totals) {
      const cur = actual.get(t.customer) ?? { sum: 0, n: 0 };
      actual.set(t.customer, { sum: cur.sum + Number(t.sum), n: cur.n + Number(t.n) });
    }
    expect(atKill).toBeLessThan(unique.length);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(expected));
  }, 300_000);
});
