import type { DataSource } from 'typeorm';
import { INPUT_LIMITS, type UsageEvent } from '@tally/contracts';
import { openServiceDataSource } from '@tally/postgres';
import { TestSuite } from '@tally/testing';
import { aggregationService } from '../aggregation.service';
import { UsageLedgerRepository } from './usage-ledger.repository';

const DAY = 86_400_000;

function event(tenant: string, source: string, id: string, time: string, calls = 1): UsageEvent {
  return {
    eventId: `${tenant}:${source}:${id}`,
    occurredAt: time,
    tenant,
    id,
    source,
    type: 'api.call',
    subject: 'c-1',
    time,
    data: { calls },
    readings: [{ meter: 'api-calls', aggregation: 'SUM', value: String(calls), groupBy: {} }],
  };
}

/** The dedupe key (migration 1732400000400) against real Postgres: what is one id and what is two. */
describe('usage ledger: dedupe key (real Postgres)', () => {
  const suite = new TestSuite();
  const repo = new UsageLedgerRepository();
  let ds: DataSource;
  const schema = suite.schema('ledger');
  const today = new Date(Math.floor(Date.now() / DAY) * DAY + 3_600_000).toISOString();
  const record = (events: UsageEvent[]) => ds.transaction((m) => repo.recordNew(m, events));
  const ids = (events: UsageEvent[]) => events.map((e) => [e.tenant, e.source, e.id]);
  const conflicts = () =>
    suite.query<{ tenant: string; source: string; event_id: string; count: string; first_hash: string; conflicting_hash: string }>(
      `SELECT tenant, source, event_id, count::text, encode(first_hash, 'hex') AS first_hash, encode(conflicting_hash, 'hex') AS conflicting_hash
       FROM "${schema}".event_conflicts ORDER BY tenant, source, event_id`,
    );

  beforeAll(async () => {
    ds = await openServiceDataSource({ url: suite.databaseUrl, schema, migrations: aggregationService.migrations, poolSize: 3 });
  });

  afterAll(async () => {
    await ds?.destroy();
    await suite.cleanup();
  });

  it('does not let the tenant/source/id boundaries run into each other', async () => {
    const events = [
      event('a', 'bc', 'x', today),
      event('ab', 'c', 'x', today),
      event('a', 'b', 'cx', today),
      event('a', 'bcx', '', today),
      event('', 'abc', 'x', today),
      // Bytes that look like a length prefix inside a value.
      event('a\u0001', 'bc', 'x', today),
      event('a', '\u0001\u0001\u0001\u0001bc', 'x', today),
      event('a', 'bc', 'x\u0001', today),
    ];
    expect(ids(await record(events))).toEqual(ids(events));
    // And each of them is one id: sent again (in one batch, in any order), none is counted.
    expect(await record([...events].reverse())).toEqual([]);
    expect(await conflicts()).toEqual([]);
  });

  it('takes ids of the maximum length (multi-byte too) and tells apart ids differing in their last character', async () => {
    const max = INPUT_LIMITS.attributeBytes;
    const tenant = 'ü'.repeat(max.tenant / 2); // 2 bytes each
    const source = 's'.repeat(max.source);
    const longIds = ['€'.repeat(Math.floor(max.id / 3)) + 'ab', '😀'.repeat(max.id / 4 - 1) + 'abcd', '😀'.repeat(max.id / 4 - 1) + 'abce'];
    for (const id of longIds) expect(Buffer.byteLength(id)).toBe(max.id);
    expect(Buffer.byteLength(tenant)).toBe(max.tenant);
    const events = longIds.map((id) => event(tenant, source, id, today));
    expect(ids(await record(events))).toEqual(ids(events));
    expect(await record(events)).toEqual([]);
    const [row] = await suite.query<{ n: string; len: number }>(`SELECT count(*)::text AS n, max(octet_length(key)) AS len FROM "${schema}".event_ids WHERE tenant = $1`, [tenant]);
    expect(row).toEqual({ n: '3', len: 32 });
  });

  it('refuses a batch holding an id, source or tenant over INPUT_LIMITS (one byte over), claiming nothing of it', async () => {
    const max = INPUT_LIMITS.attributeBytes;
    const over = [
      event('t-over', 'gw', '€'.repeat(Math.floor(max.id / 3)) + 'abc', today), // 513 bytes
      event('t-over', 's'.repeat(max.source + 1), 'x', today),
      event('ü'.repeat(max.tenant / 2) + 'x', 'gw', 'x', today),
    ];
    for (const bad of over) {
      await expect(record([event('t-over', 'gw', 'fine', today), bad])).rejects.toThrow(/usage event refused before its dedupe key: (id|source|tenant) is \d+ bytes \(UTF-8\); at most/);
    }
    const [row] = await suite.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event_ledger WHERE event_id = 'fine'`);
    expect(row.n).toBe('0');
    expect(await record([event('t-over', 'gw', 'fine', today)])).toHaveLength(1);
  });

  it('keys ids by their exact bytes: non-ASCII, composed vs decomposed, case', async () => {
    const composed = 'café-ü';
    const decomposed = 'cafe\u0301-u\u0308';
    const events = [event('t-ua', 'src', composed, today), event('t-ua', 'src', decomposed, today), event('t-ua', 'src', 'CAFÉ-Ü', today), event('t-ua', 'src', '日本語🚀', today)];
    expect(ids(await record(events))).toEqual(ids(events));
    expect(await record([event('t-ua', 'src', '日本語🚀', today), event('t-ua', 'src', decomposed, today)])).toEqual([]);
  });

  it('counts the same id once per tenant and per source', async () => {
    const events = [event('t1', 'gw', 'same', today), event('t2', 'gw', 'same', today), event('t1', 'batch', 'same', today)];
    expect(ids(await record([...events, ...events]))).toEqual(ids(events));
    expect(await record(events)).toEqual([]);
  });

  it('records a conflicting copy against the counted payload (time to the microsecond), not an identical one', async () => {
    const time = `${today.slice(0, 19)}.123456Z`;
    const counted = event('t-c', 'gw', 'c-1', time, 5);
    expect(await record([counted])).toHaveLength(1);
    // Same payload, time in another notation: a retry, not a conflict.
    expect(await record([{ ...counted, time: time.replace('Z', '+00:00') }])).toEqual([]);
    expect(await conflicts()).toEqual([]);
    const other = event('t-c', 'gw', 'c-1', time, 6);
    expect(await record([other, other])).toEqual([]);
    const [first] = await suite.query<{ h: string }>(
      `SELECT encode(sha256(convert_to(jsonb_build_array(subject, type, extract(epoch FROM time), readings, data)::text, 'UTF8')), 'hex') AS h
       FROM "${schema}".event_ledger WHERE tenant = 't-c' AND event_id = 'c-1'`,
    );
    expect(await conflicts()).toEqual([expect.objectContaining({ tenant: 't-c', source: 'gw', event_id: 'c-1', count: '2', first_hash: first.h })]);
    expect((await conflicts())[0].conflicting_hash).not.toBe(first.h);
    // The counted copy and a conflicting one in the same batch: the first is counted, the other recorded.
    expect((await record([event('t-c', 'gw', 'c-2', time, 1), event('t-c', 'gw', 'c-2', time, 2)])).map((e) => e.data)).toEqual([{ calls: 1 }]);
    expect((await conflicts()).map((c) => [c.event_id, c.count])).toEqual([['c-1', '2'], ['c-2', '1']]);
  });

  it('forgets ids with their ledger day at retention, and only those', async () => {
    const old = new Date(Date.now() - 10 * DAY).toISOString();
    const events = [event('t-r', 'gw', 'old', old), event('t-r', 'gw', 'new', today)];
    expect(await record(events)).toHaveLength(2);
    await ds.transaction((m) => repo.dropExpired(m, 5));
    // The recent id is still a duplicate; the expired one is gone from the dedupe set and the ledger.
    expect(await record([event('t-r', 'gw', 'new', today)])).toEqual([]);
    const [left] = await suite.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event_ids WHERE tenant = 't-r'`);
    expect(left.n).toBe('1');
  });
});

describe('usage ledger: migration 1732400000400 on a database with counted events (real Postgres)', () => {
  const suite = new TestSuite();
  const repo = new UsageLedgerRepository();
  const schema = suite.schema('ledger_migration');
  const before = aggregationService.migrations.filter((m) => !m.name.includes('1732400000400'));
  const today = new Date(Math.floor(Date.now() / DAY) * DAY + 7_200_000).toISOString();

  afterAll(() => suite.cleanup());

  it('keeps ids counted before it duplicates (with and without a payload hash), and compares their copies with the counted payload', async () => {
    expect(before.length).toBe(aggregationService.migrations.length - 1);
    const old = await openServiceDataSource({ url: suite.databaseUrl, schema, migrations: before, poolSize: 3 });
    // Counted the way the claim did before the migration: the text key, a payload hash, the ledger row.
    const counted = [event('a', 'bc', 'x', today, 1), event('pre', 'gw', 'hashed', today, 2), event('pre', 'gw', 'no-hash', today, 3), event('pre', 'gw', 'ü-😀', today, 4)];
    await repo.ensureDayPartitions(old, [new Date(today)]);
    for (const e of counted) {
      await old.query(
        `INSERT INTO "${schema}".event_ledger (tenant, source, event_id, subject, type, time, readings, data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)`,
        [e.tenant, e.source, e.id, e.subject, e.type, e.time, JSON.stringify(e.readings), JSON.stringify(e.data)],
      );
      await old.query(
        `INSERT INTO "${schema}".event_ids (tenant, source, event_id, time, payload_hash)
         SELECT tenant, source, event_id, time,
                CASE WHEN event_id <> 'no-hash' THEN sha256(convert_to(jsonb_build_array(subject, type, extract(epoch FROM time), readings, data)::text, 'UTF8')) END
         FROM "${schema}".event_ledger WHERE tenant = $1 AND source = $2 AND event_id = $3`,
        [e.tenant, e.source, e.id],
      );
    }
    await old.destroy();

    const ds = await openServiceDataSource({ url: suite.databaseUrl, schema, migrations: aggregationService.migrations, poolSize: 3 });
    try {
      const record = (events: UsageEvent[]) => ds.transaction((m) => repo.recordNew(m, events));
      const [n] = await suite.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event_ids`);
      expect(n.n).toBe('4');
      // Every id counted before is still a duplicate; its neighbour across the boundary is not.
      expect(await record(counted)).toEqual([]);
      const neighbour = event('ab', 'c', 'x', today, 1);
      expect((await record([neighbour])).map((e) => e.tenant)).toEqual(['ab']);
      // A copy with another payload is recorded, the id without a stored hash included (its ledger row has it).
      expect(await record([event('pre', 'gw', 'hashed', today, 20), event('pre', 'gw', 'no-hash', today, 30)])).toEqual([]);
      const rows = await suite.query<{ event_id: string; count: string }>(`SELECT event_id, count::text FROM "${schema}".event_conflicts ORDER BY event_id`);
      expect(rows).toEqual([
        { event_id: 'hashed', count: '1' },
        { event_id: 'no-hash', count: '1' },
      ]);
    } finally {
      await ds.destroy();
    }
  });
});
