import { randomUUID } from 'node:crypto';
import { customerKey, TOPICS, type ApiKeyChanged, type UsageEvent } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { aggregationService } from '../aggregation.service';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Reading = UsageEvent['readings'][number];
const reading = (meter: string, aggregation: string, value: string, groupBy: Record<string, string> = {}): Reading => ({ meter, aggregation, value, groupBy }) as Reading;

function usageEvent(subject: string, id: string, time: Date, readings: Reading[]): UsageEvent {
  return { eventId: `om:src:${id}`, occurredAt: time.toISOString(), tenant: 'om', id, source: 'src', type: 'api.call', subject, time: time.toISOString(), data: {}, readings };
}

interface QueryBody {
  from?: string;
  to?: string;
  data: Array<{ value: string; windowStart: string; windowEnd: string; subject: string | null; groupBy: Record<string, string> }>;
}

/**
 * OpenMeter's meter-query semantics on aggregation's HTTP API (real Kafka and Postgres): all time without from/to,
 * labelled with the first and last event's minute windows; 0 for COUNT and UNIQUE_COUNT over a range without
 * events and no row for the others; a missing group-by property grouped as ""; Accept: text/csv; MINUTE windows
 * limited by the number of windows the answer can have, never by a default range.
 */
describe('meter query: OpenMeter semantics', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base = '';
  // Three days back at an odd second, so minute labels are visibly floored.
  const t0 = new Date(Math.floor(Date.now() / DAY) * DAY - 3 * DAY + 10 * HOUR + 15 * MINUTE + 42_123);
  const t1 = new Date(t0.getTime() + 2 * HOUR);
  const t2 = new Date(Math.floor(t0.getTime() / DAY) * DAY + DAY + 8 * HOUR); // exactly on a minute
  const t3 = new Date(t0.getTime() + 2 * DAY); // only a COUNT reading: that meter's events span two days
  const get = (path: string, accept = 'application/json') => fetch(`${base}${path}`, { headers: { authorization: 'Bearer key-om', accept } });
  const query = async (path: string): Promise<QueryBody> => {
    const res = await get(path);
    expect(res.status).toBe(200);
    return (await res.json()) as QueryBody;
  };

  beforeAll(async () => {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'om', keyId: randomUUID(), keyHash: hashApiKey('key-om'), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k-om', key)]);
    // 1,500 windows per query: MINUTE over the calls (about a day) passes, over the hits (two days) does not.
    service = await createServiceApp(aggregationService, suite.serviceConfig(aggregationService, { QUERY_MAX_WINDOWS: '1500' }));
    await service.app.listen(0, '127.0.0.1');
    base = (await service.app.getUrl()).replace('[::1]', '127.0.0.1');

    const events = [
      usageEvent('c-1', 'e1', t0, [reading('calls', 'SUM', '3', { region: 'eu' }), reading('hits', 'COUNT', '1'), reading('users', 'UNIQUE_COUNT', 'u1'), reading('peak', 'MAX', '5')]),
      // No region at all, and an explicit "" below: one group, as in OpenMeter.
      usageEvent('c-1', 'e2', t1, [reading('calls', 'SUM', '4'), reading('hits', 'COUNT', '1'), reading('users', 'UNIQUE_COUNT', 'u2')]),
      usageEvent('c-2', 'e3', t2, [reading('calls', 'SUM', '5', { region: '' }), reading('hits', 'COUNT', '1'), reading('users', 'UNIQUE_COUNT', 'u1')]),
      usageEvent('c-2', 'e4', t3, [reading('hits', 'COUNT', '1')]),
    ];
    await suite.produce(TOPICS.usageEvents, events.map((e) => ({ key: customerKey(e.tenant, e.subject), value: e })));
    await expectEventually(async () => {
      const res = await get('/api/v1/meters/hits/query');
      expect(res.status).toBe(200);
      expect(((await res.json()) as QueryBody).data.map((r) => r.value)).toEqual(['4']);
    }, 60_000);
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('without from/to covers all time, the row labelled from the first event\'s minute to the end of the last event\'s minute', async () => {
    const body = await query('/api/v1/meters/calls/query');
    expect(body.from).toBeUndefined();
    expect(body.to).toBeUndefined();
    expect(body.data).toEqual([
      { value: '12', windowStart: new Date(Math.floor(t0.getTime() / MINUTE) * MINUTE).toISOString(), windowEnd: new Date(t2.getTime() + MINUTE).toISOString(), subject: null, groupBy: {} },
    ]);
    // Per subject, each row from its own first to last event; only from given: open at the end.
    const perSubject = await query('/api/v1/meters/calls/query?subject=c-1&subject=c-2');
    expect(perSubject.data.map((r) => [r.subject, r.value, r.windowStart, r.windowEnd])).toEqual([
      ['c-1', '7', new Date(Math.floor(t0.getTime() / MINUTE) * MINUTE).toISOString(), new Date(Math.floor(t1.getTime() / MINUTE) * MINUTE + MINUTE).toISOString()],
      ['c-2', '5', t2.toISOString(), new Date(t2.getTime() + MINUTE).toISOString()],
    ]);
    const from = new Date(t1.getTime() - 1).toISOString();
    const open = await query(`/api/v1/meters/calls/query?from=${from}`);
    expect(open.from).toBe(from);
    expect(open.data).toEqual([{ value: '9', windowStart: from, windowEnd: new Date(t2.getTime() + MINUTE).toISOString(), subject: null, groupBy: {} }]);
    // An explicit range labels the row with it, as before.
    const to = new Date(t2.getTime()).toISOString();
    expect((await query(`/api/v1/meters/calls/query?from=${from}&to=${to}`)).data).toEqual([{ value: '4', windowStart: from, windowEnd: to, subject: null, groupBy: {} }]);
  });

  it('over a range without events: COUNT and UNIQUE_COUNT answer 0, SUM and MAX no row', async () => {
    const from = new Date(t0.getTime() - 10 * DAY).toISOString();
    const to = new Date(t0.getTime() - 9 * DAY).toISOString();
    const range = `from=${from}&to=${to}`;
    expect((await query(`/api/v1/meters/hits/query?${range}`)).data).toEqual([{ value: '0', windowStart: from, windowEnd: to, subject: null, groupBy: {} }]);
    expect((await query(`/api/v1/meters/users/query?${range}`)).data).toEqual([{ value: '0', windowStart: from, windowEnd: to, subject: null, groupBy: {} }]);
    expect((await query(`/api/v1/meters/calls/query?${range}`)).data).toEqual([]);
    expect((await query(`/api/v1/meters/peak/query?${range}`)).data).toEqual([]);
    // Per requested subject: the one without events gets its 0, the other its count.
    const subjects = await query(`/api/v1/meters/hits/query?subject=c-1&subject=nobody&from=${new Date(t0.getTime() - DAY).toISOString()}&to=${t2.toISOString()}`);
    expect(subjects.data.map((r) => [r.subject, r.value])).toEqual([['c-1', '2'], ['nobody', '0']]);
    // Windowed and grouped queries answer only the windows and groups that have events.
    expect((await query(`/api/v1/meters/hits/query?${range}&windowSize=DAY`)).data).toEqual([]);
    // A meter Tally never saw an event of answers no row (aggregation learns meters from their events).
    expect((await query(`/api/v1/meters/never-used/query?${range}`)).data).toEqual([]);
  });

  it('groups a missing group-by property as "", together with an explicit ""', async () => {
    const body = await query('/api/v1/meters/calls/query?groupBy=region');
    expect(Object.fromEntries(body.data.map((r) => [r.groupBy.region, r.value]))).toEqual({ eu: '3', '': '9' });
    expect(body.data.every((r) => typeof r.groupBy.region === 'string')).toBe(true);
  });

  it('answers CSV with Accept: text/csv, the same rows as the JSON', async () => {
    const res = await get('/api/v1/meters/calls/query?groupBy=region&subject=c-1', 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="calls.csv"');
    const json = await query('/api/v1/meters/calls/query?groupBy=region&subject=c-1');
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('window_start,window_end,subject,region,value');
    expect(lines.slice(1, -1)).toEqual(json.data.map((r) => [r.windowStart, r.windowEnd, r.subject, r.groupBy.region, r.value].join(',')));
    expect(lines.at(-1)).toBe('');
    // A bad query is still a problem+json, not a CSV.
    const bad = await get('/api/v1/meters/calls/query?windowSize=WEEK', 'text/csv');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
  });

  it('limits MINUTE windows by their number: all time over a day of events passes, over two days is refused, a short explicit range passes', async () => {
    const calls = await query('/api/v1/meters/calls/query?windowSize=MINUTE');
    expect(calls.data.map((r) => [r.windowStart, r.value])).toEqual([
      [new Date(Math.floor(t0.getTime() / MINUTE) * MINUTE).toISOString(), '3'],
      [new Date(Math.floor(t1.getTime() / MINUTE) * MINUTE).toISOString(), '4'],
      [t2.toISOString(), '5'],
    ]);
    const refused = await get('/api/v1/meters/hits/query?windowSize=MINUTE');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { errors: Array<{ pointer: string; detail: string }> }).errors).toEqual([
      { pointer: '/windowSize', detail: expect.stringMatching(/^the range spans \d+ MINUTE windows; at most 1500 per query/) },
    ]);
    // The same meter with from narrowing the events to the last one: fine again.
    const from = new Date(t3.getTime() - 10 * MINUTE).toISOString();
    expect((await query(`/api/v1/meters/hits/query?windowSize=MINUTE&from=${from}`)).data.map((r) => r.value)).toEqual(['1']);
    // HOUR over the two days is 49 windows at most.
    expect((await query('/api/v1/meters/hits/query?windowSize=HOUR')).data).toHaveLength(4);
  });
});
