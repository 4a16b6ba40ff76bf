import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { customerKey, TOPICS, type ApiKeyChanged, type UsageEvent } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { aggregationService } from '../aggregation.service';

const DAY = 86_400_000;
const keyEvent = (tenant: string, key: string): ApiKeyChanged => ({
  eventId: randomUUID(),
  occurredAt: new Date().toISOString(),
  tenant,
  keyId: randomUUID(),
  keyHash: hashApiKey(key),
  revoked: false,
});

function usageEvent(tenant: string, subject: string, id: string, time: Date, calls: number): UsageEvent {
  return {
    eventId: `${tenant}:gw:${id}`,
    occurredAt: time.toISOString(),
    tenant,
    id,
    source: 'gw',
    type: 'api.call',
    subject,
    time: time.toISOString(),
    data: { calls },
    readings: [{ meter: 'api-calls', aggregation: 'SUM', value: String(calls), groupBy: {} }],
  };
}

/** A counter's value in a Prometheus exposition (0 when absent). */
function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('aggregation read paths (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  let port: number;
  const schema = suite.schema('aggregation');
  const day = new Date(Math.floor(Date.now() / DAY) * DAY - 2 * DAY);
  const get = (path: string, key: string, accept = 'application/json') => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, accept } });
  const metrics = async () => (await fetch(`${base}/metrics`)).text();
  const produceUsage = (events: UsageEvent[]) => suite.produce(TOPICS.usageEvents, events.map((e) => ({ key: customerKey(e.tenant, e.subject), value: e })));
  const periodSum = async (tenant: string, customer: string) =>
    (await suite.query<{ sum_value: string }>(`SELECT sum_value::text FROM "${schema}".window_aggregates WHERE tenant = $1 AND customer = $2 AND meter = 'api-calls' AND window_kind = 'PERIOD'`, [tenant, customer]))[0]?.sum_value;

  /** Ledger rows written straight into the schema: a big tenant without waiting for the pipeline to count it. */
  const seedLedger = async (tenant: string, rows: number, padding: number) => {
    await suite.query(
      `INSERT INTO "${schema}".event_ledger (tenant, source, event_id, subject, type, time, readings, data)
       SELECT $1, 'seed', 'e' || lpad(g::text, 8, '0'), 'customer-' || (g % 50), 'api.call', $2::timestamptz + (g || ' ms')::interval,
              '[{"meter":"api-calls","aggregation":"SUM","value":"1","groupBy":{}}]'::jsonb, jsonb_build_object('n', g, 'pad', repeat('x', $4::int))
       FROM generate_series(1, $3::int) g`,
      [tenant, day.toISOString(), rows, padding],
    );
    // What autovacuum would do soon after such a load: without statistics the planner may scan the whole day.
    await suite.query(`ANALYZE "${schema}".event_ledger`);
  };

  beforeAll(async () => {
    await suite.createTopics();
    await suite.produce(
      TOPICS.catalogApiKeys,
      ['acme', 'globex', 'heavy', 'bulk', 'busy'].map((t) => suite.signedApiKeyMessage(`k-${t}`, keyEvent(t, `key-${t}`))),
    );
    service = await createServiceApp(
      aggregationService,
      suite.serviceConfig(aggregationService, {
        API_DB_POOL_SIZE: '2',
        API_STATEMENT_TIMEOUT_MS: '400',
        API_DB_ACQUIRE_TIMEOUT_MS: '1000',
        API_READ_RATE_LIMIT_PER_SECOND: '50',
        API_READ_RATE_LIMIT_BURST: '100',
      }),
    );
    await service.app.listen(0, '127.0.0.1');
    port = (service.app.getHttpServer().address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    // The keys are projected by the consumer: wait until each one works.
    for (const t of ['acme', 'globex', 'heavy', 'bulk', 'busy']) await expectEventually(async () => expect((await get('/api/v1/events?limit=1', `key-${t}`)).status).toBe(200));
  });

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  describe('query caps', () => {
    it('refuses more windows than QUERY_MAX_WINDOWS with a 400 problem naming /windowSize', async () => {
      const to = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      const from = new Date(to.getTime() - 8 * DAY);
      const res = await get(`/api/v1/meters/api-calls/query?windowSize=MINUTE&from=${from.toISOString()}&to=${to.toISOString()}`, 'key-acme');
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const body = (await res.json()) as { errors: Array<{ pointer: string; detail: string }> };
      expect(body.errors).toEqual([{ pointer: '/windowSize', detail: 'the range spans 11520 MINUTE windows; at most 10080 per query: shorten the range or use a larger windowSize' }]);
      // The same range in HOUR windows is fine.
      expect((await get(`/api/v1/meters/api-calls/query?windowSize=HOUR&from=${from.toISOString()}&to=${to.toISOString()}`, 'key-acme')).status).toBe(200);
    });

    it('refuses a range beyond QUERY_MAX_RANGE_DAYS for queries and exports', async () => {
      const from = new Date(Date.now() - 500 * DAY).toISOString();
      // The meter query caps explicit ranges only (an open one covers the retained ledger, as OpenMeter's all time).
      const to = new Date().toISOString();
      for (const [path, accept] of [
        [`/api/v1/meters/api-calls/query?from=${from}&to=${to}`, 'application/json'],
        [`/api/v1/events?from=${from}`, 'text/csv'],
      ]) {
        const res = await get(path, 'key-acme', accept);
        expect(res.status).toBe(400);
        expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([{ pointer: '/from', detail: 'the range may span at most 400 days' }]);
      }
    });

    it('refuses a forged export cursor with a 400, not a 500', async () => {
      const cursor = Buffer.from(JSON.stringify({ time: 'yesterday', source: 'gw', id: 'x' })).toString('base64url');
      expect((await get(`/api/v1/events?cursor=${cursor}`, 'key-acme')).status).toBe(400);
    });
  });

  it('a query beyond statement_timeout answers 503 problem+json while the consumers keep counting', async () => {
    await seedLedger('heavy', 1_500_000, 0);
    const from = new Date(day.getTime() - DAY).toISOString();
    const slow = await get(`/api/v1/meters/api-calls/query?from=${from}&groupBy=n`, 'key-heavy');
    expect(slow.status).toBe(503);
    expect(slow.headers.get('content-type')).toContain('application/problem+json');
    expect(slow.headers.get('retry-after')).toBe('5');
    expect(((await slow.json()) as { detail: string }).detail).toMatch(/took longer than this API allows/);

    // Keep the read pool saturated with slow queries while usage arrives: the consumers use their own pool.
    let flooding = true;
    const statuses: number[] = [];
    const flood = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (flooding) statuses.push((await get(`/api/v1/meters/api-calls/query?from=${from}&groupBy=n`, 'key-heavy')).status);
      }),
    );
    const started = Date.now();
    await produceUsage(Array.from({ length: 20 }, (_, i) => usageEvent('acme', 'during-flood', `flood-${i}`, new Date(day.getTime() + i * 1000), 1)));
    try {
      await expectEventually(async () => expect(await periodSum('acme', 'during-flood')).toBe('20'), 30_000);
    } finally {
      flooding = false;
      await flood;
    }
    const countedWithinMs = Date.now() - started;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 503)).toBe(true);
    // Nothing was left running on the read pool, and a normal read works right after.
    expect((await get('/api/v1/events?limit=1', 'key-heavy')).status).toBe(200);
    process.stdout.write(`counted 20 events in ${countedWithinMs} ms while ${statuses.length} slow reads were refused\n`);
  });

  it('a flood of unknown API keys gets 401s, barely reaches Postgres, and a known key keeps working', async () => {
    const before = await metrics();
    const lookupsBefore = metric(before, 'tally_api_key_lookups_total', '{result="unknown"}') + metric(before, 'tally_api_key_lookups_total', '{result="known"}');
    const started = Date.now();
    const statuses: number[] = [];
    const knownStatuses: number[] = [];
    for (let round = 0; round < 20; round++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => get('/api/v1/events?limit=1', `random-${randomBytes(12).toString('hex')}`)));
      statuses.push(...answers.map((a) => a.status));
      knownStatuses.push((await get('/api/v1/events?limit=1', 'key-globex')).status);
    }
    const seconds = (Date.now() - started) / 1000;
    const after = await metrics();
    const lookups = metric(after, 'tally_api_key_lookups_total', '{result="unknown"}') + metric(after, 'tally_api_key_lookups_total', '{result="known"}') - lookupsBefore;
    expect(statuses).toHaveLength(1000);
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(knownStatuses.every((s) => s === 200)).toBe(true);
    // The lookup bucket: a burst of 100, then 50/s; plus the known key's re-check every 5 s.
    expect(lookups).toBeLessThanOrEqual(100 + Math.ceil(seconds * 50) + Math.ceil(seconds / 5) + 1);
    expect(lookups).toBeLessThan(1000);
    expect(metric(after, 'tally_api_key_lookups_throttled_total')).toBeGreaterThan(0);
    process.stdout.write(`1000 unknown keys in ${seconds.toFixed(1)} s -> ${lookups} lookups in Postgres\n`);
  });

  it('rate-limits each tenant\'s reads with 429 and Retry-After, leaving other tenants alone', async () => {
    const answers = await Promise.all(Array.from({ length: 160 }, () => get('/api/v1/events/conflicts?limit=1', 'key-busy')));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(100 + 50 * 5);
    expect(limited[0].headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited[0].headers.get('content-type')).toContain('application/problem+json');
    expect((await get('/api/v1/events/conflicts?limit=1', 'key-globex')).status).toBe(200);
  });

  describe('CSV export', () => {
    const ROWS = 60_000;
    beforeAll(async () => {
      await seedLedger('bulk', ROWS, 1000); // about 62 MB of CSV
    });

    const exportedRows = async () => metric(await metrics(), 'tally_events_export_rows_total');
    const openExport = () =>
      new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: `/api/v1/events?from=${new Date(day.getTime() - DAY).toISOString()}`, headers: { authorization: 'Bearer key-bulk', accept: 'text/csv' } }, resolve);
        req.on('error', reject);
        req.end();
      });

    it('reads the ledger only as fast as the client reads, and delivers every row', async () => {
      const before = await exportedRows();
      const heapBefore = process.memoryUsage().heapUsed;
      const res = await openExport();
      expect(res.statusCode).toBe(200);
      res.pause();
      await new Promise((r) => setTimeout(r, 2_000));
      const readWhilePaused = (await exportedRows()) - before;
      const heapWhilePaused = process.memoryUsage().heapUsed - heapBefore;
      // Socket buffers hold a few MB; the rest waits in Postgres, not in memory.
      expect(readWhilePaused).toBeLessThan(ROWS / 3);
      let lines = 0;
      let tail = '';
      res.setEncoding('utf8');
      for await (const chunk of res) {
        const text = tail + (chunk as string);
        const parts = text.split('\n');
        tail = parts.pop() ?? '';
        lines += parts.length;
      }
      expect(lines).toBe(ROWS + 1);
      expect((await exportedRows()) - before).toBe(ROWS);
      process.stdout.write(`paused export: ${readWhilePaused} of ${ROWS} events read, heap +${Math.round(heapWhilePaused / 1e6)} MB\n`);
    });

    it('stops reading when the client goes away, and leaves no query running', async () => {
      const before = await exportedRows();
      const res = await openExport();
      await new Promise((r) => res.once('data', r));
      res.destroy();
      await new Promise((r) => setTimeout(r, 1_000));
      const read = (await exportedRows()) - before;
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await exportedRows()) - before).toBe(read);
      expect(read).toBeLessThan(ROWS / 3);
      const active = await suite.query(`SELECT 1 FROM pg_stat_activity WHERE application_name LIKE $1 AND state = 'active'`, [`tally-aggregation-api:${schema}%`]);
      expect(active).toEqual([]);
    });
  });

  it('counts a conflicting duplicate once, lists it for its tenant only, and counts it in the metric', async () => {
    const metricBefore = metric(await metrics(), 'tally_conflicting_duplicates_total', '{topic="usage.events.v1"}');
    const t = new Date(day.getTime() + 3_600_000);
    const first = usageEvent('acme', 'customer-dup', 'dup-1', t, 5);
    await produceUsage([first]);
    await expectEventually(async () => expect(await periodSum('acme', 'customer-dup')).toBe('5'));
    // The same id again: identical (a retry), with other data, and with another subject (another partition key).
    await produceUsage([{ ...first, occurredAt: new Date().toISOString() }, { ...first, data: { calls: 7 }, readings: [{ ...first.readings[0], value: '7' }] }]);
    await produceUsage([{ ...first, subject: 'customer-other' }]);
    // An identical copy whose time is written in another notation is the same payload.
    await produceUsage([{ ...first, time: t.toISOString().replace('Z', '+00:00') }]);
    type Conflicts = { data: Array<{ source: string; id: string; count: number; sample: string; sampleTruncated: boolean; countedHash: string; conflictingHash: string }>; nextCursor: string | null };
    const listed = await expectEventually(async () => {
      const body = (await (await get('/api/v1/events/conflicts', 'key-acme')).json()) as Conflicts;
      expect(body.data).toHaveLength(2);
      return body;
    });
    expect(listed.data.every((c) => c.source === 'gw' && c.id === 'dup-1' && c.count === 1 && !c.sampleTruncated)).toBe(true);
    expect(listed.data.map((c) => JSON.parse(c.sample)).map((p) => [p.subject, p.data.calls]).sort()).toEqual([['customer-dup', 7], ['customer-other', 5]]);
    expect(new Set(listed.data.map((c) => c.countedHash)).size).toBe(1);
    expect(await periodSum('acme', 'customer-dup')).toBe('5');
    expect(await periodSum('acme', 'customer-other')).toBeUndefined();
    expect(metric(await metrics(), 'tally_conflicting_duplicates_total', '{topic="usage.events.v1"}') - metricBefore).toBe(2);
    // Paging with a cursor, and other tenants see nothing.
    const page1 = (await (await get('/api/v1/events/conflicts?limit=1', 'key-acme')).json()) as Conflicts;
    expect(page1.data).toHaveLength(1);
    const page2 = (await (await get(`/api/v1/events/conflicts?limit=1&cursor=${page1.nextCursor}`, 'key-acme')).json()) as Conflicts;
    expect(page2.data).toHaveLength(1);
    expect(page2.data[0].conflictingHash).not.toBe(page1.data[0].conflictingHash);
    expect(page2.nextCursor).toBeNull();
    expect(((await (await get('/api/v1/events/conflicts', 'key-globex')).json()) as Conflicts).data).toEqual([]);
    // The same conflicting payload again raises its count instead of adding a row.
    await produceUsage([{ ...first, data: { calls: 7 }, readings: [{ ...first.readings[0], value: '7' }] }]);
    await expectEventually(async () => {
      const body = (await (await get('/api/v1/events/conflicts', 'key-acme')).json()) as Conflicts;
      expect(body.data.map((c) => c.count).sort()).toEqual([1, 2]);
    });
  });
});
