// The growth bench's seeding against real Postgres, in schemas migrated by the services' own migrations:
// the rows exist with the totals the formula implies, aggregation's claim statement takes a seeded id as a
// duplicate (and a changed payload of one as a conflict), and the sample check tells seeded from new counts.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import type { UsageEvent } from '@tally/contracts';
import { openServiceDataSource } from '@tally/postgres';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';
import { thresholdAlertingService } from '../../apps/threshold-alerting/src/threshold-alerting.service';
import { UsageLedgerRepository } from '../../apps/aggregation/src/usage/usage-ledger.repository';
import { seededEventValues, type GrowthCell } from '../../bench/growth-plan';
import { checkSeededDuplicates, seedCell, snapshotPeriods, verifySample } from '../../bench/growth-seed';

const url = () => process.env.DATABASE_URL!;
const runId = `g${randomBytes(4).toString('hex')}`;
const cell: GrowthCell = { id: '2000x3', customers: 2_000, eventsPerCustomer: 3, seededEvents: 6_000, sampleEvents: 0, runs: 1 };
// Whole seconds, an hour ago, as the growth run anchors its seeded events.
const anchor = Math.floor(Date.now() / 1000) - 3600;

describe('growth bench seeding (real Postgres)', () => {
  let db: Client;
  let aggregation: DataSource;

  beforeAll(async () => {
    aggregation = await openServiceDataSource({ url: url(), schema: `${runId}_aggregation`, migrations: aggregationService.migrations });
    // The day partitions the service creates at start.
    await new UsageLedgerRepository().precreatePartitions(aggregation);
    const alerting = await openServiceDataSource({ url: url(), schema: `${runId}_threshold_alerting`, migrations: thresholdAlertingService.migrations });
    await alerting.destroy();
    db = new Client({ connectionString: url() });
    await db.connect();
  });

  afterAll(async () => {
    await aggregation?.destroy();
    for (const s of ['aggregation', 'threshold_alerting', 'growth']) await db?.query(`DROP SCHEMA IF EXISTS "${runId}_${s}" CASCADE`);
    await db?.end();
  });

  it('seeds every table with the rows and totals the formula implies, indexes back as defined', async () => {
    const indexesBefore = (await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [`${runId}_aggregation`])).rows;
    const result = await seedCell(db, runId, cell, anchor);
    const values = Array.from({ length: cell.customers }, (_, c) => Array.from({ length: cell.eventsPerCustomer }, (_, k) => seededEventValues(c, k, anchor))).flat();
    const days = new Set(values.map((v) => `${v.subject}|${new Date(v.time * 1000).toISOString().slice(0, 10)}`)).size;
    const months = new Set(values.map((v) => `${v.subject}|${new Date(v.time * 1000).toISOString().slice(0, 7)}`)).size;
    expect(result.rows).toEqual({
      'aggregation.event_ids': 6_000,
      'aggregation.event_ledger': 6_000,
      'aggregation.window_aggregates': 3 * (days + months),
      'aggregation.window_distinct_values': 2 * 6_000,
      'threshold_alerting.day_usage': 3 * days,
    });
    const s = `"${runId}_aggregation"`;
    const { rows } = await db.query(
      `SELECT meter, sum(sum_value)::text AS sum, sum(event_count)::text AS n, sum(distinct_count)::text AS d FROM ${s}.window_aggregates WHERE window_kind = 'PERIOD' GROUP BY meter ORDER BY meter`,
    );
    const calls = values.reduce((n, v) => n + v.calls, 0);
    expect(rows).toEqual([
      { meter: 'calls', sum: String(calls), n: '6000', d: '0' },
      { meter: 'requests', sum: '0', n: '6000', d: '0' },
      { meter: 'users', sum: '0', n: '6000', d: '6000' },
    ]);
    // The SQL formula and the TypeScript one agree (the resends of the growth run rely on it).
    for (const [c, k] of [[0, 0], [1_999, 2], [777, 1]]) {
      const v = seededEventValues(c, k, anchor);
      const [row] = (await db.query(`SELECT subject, extract(epoch FROM time)::bigint::text AS t, data FROM ${s}.event_ledger WHERE event_id = $1`, [v.id])).rows;
      expect(row).toEqual({ subject: v.subject, t: String(v.time), data: { calls: v.calls, user: v.user } });
    }
    const indexesAfter = (await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname`, [`${runId}_aggregation`])).rows;
    expect(indexesAfter).toEqual(indexesBefore);
  });

  it("takes a seeded id as a duplicate in aggregation's own claim statement, without a conflict", async () => {
    expect(await checkSeededDuplicates(url(), runId, cell, anchor)).toEqual({ offered: 3, claimed: 0, conflicts: 0, freshClaimed: true });
    // Rolled back: the fresh id of the check was not kept.
    expect((await db.query(`SELECT count(*)::int AS n FROM "${runId}_aggregation".event_ledger`)).rows[0].n).toBe(6_000);
  });

  it('records a seeded id resent with another payload as a conflict, and still does not count it', async () => {
    const v = seededEventValues(42, 1, anchor);
    const time = new Date(v.time * 1000).toISOString();
    const changed = {
      eventId: `bench:bench:${v.id}`, occurredAt: time, tenant: 'bench', id: v.id, source: 'bench', type: 'api.call', subject: v.subject, time,
      data: { calls: v.calls + 1, user: v.user },
      readings: [
        { meter: 'calls', aggregation: 'SUM', value: String(v.calls + 1), groupBy: {} },
        { meter: 'requests', aggregation: 'COUNT', value: null, groupBy: {} },
        { meter: 'users', aggregation: 'UNIQUE_COUNT', value: v.user, groupBy: {} },
      ],
    } as UsageEvent;
    await aggregation.transaction(async (manager) => {
      expect(await new UsageLedgerRepository().recordNew(manager, [changed])).toEqual([]);
      const conflicts = (await manager.query(`SELECT event_id, count::int AS n FROM "${runId}_aggregation".event_conflicts`)) as Array<{ event_id: string; n: number }>;
      expect(conflicts).toEqual([{ event_id: v.id, n: 1 }]);
      await manager.query(`DELETE FROM "${runId}_aggregation".event_conflicts`);
    });
  });

  it("tells the sample's counts from the seeded ones: untouched windows are no mismatch, a seeded window counted again is", async () => {
    await snapshotPeriods(db, runId);
    const none = { byCustomerMonth: new Map(), unique: 0, sent: 0 };
    expect(await verifySample(db, runId, none)).toEqual([]);
    // As if aggregation had counted a resent seeded event of customer-5 again.
    await db.query(
      `UPDATE "${runId}_aggregation".window_aggregates SET event_count = event_count + 1, version = version + 1
       WHERE customer = 'customer-5' AND meter = 'requests' AND window_kind = 'PERIOD'`,
    );
    const mismatches = await verifySample(db, runId, none);
    expect(mismatches.length).toBeGreaterThanOrEqual(1);
    expect(mismatches.every((m) => m.startsWith('customer-5|') && m.endsWith('unexpected'))).toBe(true);
  });

  it('refuses to seed a table that gained a required column it does not fill, naming it', async () => {
    const other = `${runId}x`;
    const ds = await openServiceDataSource({ url: url(), schema: `${other}_aggregation`, migrations: aggregationService.migrations });
    await ds.destroy();
    try {
      await db.query(`ALTER TABLE "${other}_aggregation".event_ids ADD COLUMN shard int NOT NULL`);
      await expect(seedCell(db, other, cell, anchor)).rejects.toThrow(/event_ids has required columns the seeding does not fill \(shard\)/);
    } finally {
      await db.query(`DROP SCHEMA IF EXISTS "${other}_aggregation" CASCADE`);
    }
  });
});
