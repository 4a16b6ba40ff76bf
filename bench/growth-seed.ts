// Brings a growth cell's state to the size its workload implies, with set-based SQL (generate_series), in the
// schemas the services of the run created and migrated: aggregation's dedupe keys, ledger and windows, and
// threshold-alerting's DAY usage. Then checks, with aggregation's own claim statement, that a seeded id is
// taken as a duplicate, and keeps the PERIOD windows as they were so the sample's totals can be checked exactly.
import 'reflect-metadata';
import type { Client } from 'pg';
import { openServiceDataSource } from '@tally/postgres';
import type { UsageEvent } from '@tally/contracts';
import { aggregationService } from '../apps/aggregation/src/aggregation.service';
import { UsageLedgerRepository } from '../apps/aggregation/src/usage/usage-ledger.repository';
import type { ExpectedTotals } from './load-generator';
import { BENCH_METERS, compareTotals, type PeriodRow } from './pipeline';
import { seedEventSql, seededEventValues, type GrowthCell } from './growth-plan';

/** The tables seeded, as `<service>.<table>`, in the order of the report's columns. */
export const SEEDED_TABLES = ['aggregation.event_ids', 'aggregation.event_ledger', 'aggregation.window_aggregates', 'aggregation.window_distinct_values', 'threshold_alerting.day_usage'];

const TENANT = 'bench';
const SOURCE = 'bench';
const TYPE = 'api.call';

/** The SQL value of each bench meter's reading, as ingestion extracts it from `data` (see extractReadings). */
function readingsSql(): string {
  const valueOf: Record<string, string> = { '$.calls': 'calls::text', '$.user': 'usr' };
  const readings = BENCH_METERS.map((m) => {
    const value = m.aggregation === 'COUNT' ? 'NULL::text' : valueOf[m.valueProperty ?? ''];
    if (!value) throw new Error(`growth seeding: no seeded value for meter ${m.slug} (${m.valueProperty}); add it to readingsSql`);
    return `jsonb_build_object('meter', '${m.slug}', 'aggregation', '${m.aggregation}', 'value', ${value}, 'groupBy', '{}'::jsonb)`;
  });
  return `jsonb_build_array(${readings.join(', ')})`;
}

/**
 * Fails when a table has a required column (NOT NULL, no default, not generated) the seeding does not fill:
 * the table definitions changed (a new key column, say) and the seeding must follow them.
 */
async function assertFills(db: Client, schema: string, table: string, filled: string[]): Promise<void> {
  const { rows } = await db.query(
    `SELECT column_name FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 AND is_nullable = 'NO' AND column_default IS NULL AND is_generated = 'NEVER' AND identity_generation IS NULL`,
    [schema, table],
  );
  if (rows.length === 0 && !(await db.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`, [schema, table])).rowCount) {
    throw new Error(`growth seeding: ${schema}.${table} does not exist`);
  }
  const missing = rows.map((r: { column_name: string }) => r.column_name).filter((c: string) => !filled.includes(c));
  if (missing.length > 0) {
    throw new Error(`growth seeding: ${schema}.${table} has required columns the seeding does not fill (${missing.join(', ')}): update bench/growth-seed.ts to the new table definition`);
  }
}


/**
 * Loading into a table with its indexes maintained row by row took ~165 s for 1M customers × 1 event here;
 * built once by sort after the load they take a fraction of that. The indexes and key constraints are read
 * from the catalog and created again exactly as defined (a partitioned table's index covers its partitions).
 */
async function withoutIndexes<T>(db: Client, schema: string, tables: string[], load: () => Promise<T>): Promise<T> {
  const constraints: Array<{ table: string; name: string; def: string }> = (
    await db.query(
      `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = $1 AND t.relname = ANY($2) AND c.contype IN ('p', 'u') AND c.conparentid = 0`,
      [schema, tables],
    )
  ).rows;
  const indexes: Array<{ name: string; def: string }> = (
    await db.query(
      `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = $1 AND t.relname = ANY($2) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)
         AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.oid)`,
      [schema, tables],
    )
  ).rows;
  for (const c of constraints) await db.query(`ALTER TABLE "${schema}"."${c.table}" DROP CONSTRAINT "${c.name}"`);
  for (const i of indexes) await db.query(`DROP INDEX "${schema}"."${i.name}"`);
  const result = await load();
  await db.query(`SET maintenance_work_mem = '512MB'`);
  for (const c of constraints) await db.query(`ALTER TABLE "${schema}"."${c.table}" ADD CONSTRAINT "${c.name}" ${c.def}`);
  // pg_get_indexdef writes a partitioned table's index `ON ONLY` (the parent alone): created without it, the
  // index covers every partition again.
  for (const i of indexes) await db.query(i.def.replace(/ ON ONLY /, ' ON '));
  await db.query(`RESET maintenance_work_mem`);
  return result;
}

/**
 * What the seeding writes into each column event_ids has now, over a row `e` of (event_id, subject, time,
 * readings, data), each derived as aggregation's claim statement derives it: the dedupe key by the schema's own
 * `event_key` function (migration 1732400000400), or, before that migration, the three text columns and the
 * payload hash of the claim statement then (checkSeededDuplicates proves the seeded ids are duplicates to
 * the code either way).
 */
async function eventIdsValues(db: Client, schema: string): Promise<Record<string, string>> {
  const s = `"${schema}"`;
  const known: Record<string, string> = {
    key: `${s}.event_key('${TENANT}', '${SOURCE}', event_id)`,
    tenant: `'${TENANT}'`,
    source: `'${SOURCE}'`,
    event_id: 'event_id',
    time: 'time',
    payload_hash: `sha256(convert_to(jsonb_build_array(subject, '${TYPE}'::text, extract(epoch FROM time), readings, data)::text, 'UTF8'))`,
  };
  const { rows } = await db.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'event_ids' ORDER BY ordinal_position`, [schema]);
  return Object.fromEntries(rows.map((r: { column_name: string }) => r.column_name).filter((c: string) => c in known).map((c: string) => [c, known[c]]));
}

export interface SeedResult {
  seconds: number;
  /** Seconds per step: load, index builds, VACUUM ANALYZE. */
  steps: Record<string, number>;
  rows: Record<string, number>;
}

/**
 * Seeds the cell's state into `<runId>_aggregation` and `<runId>_threshold_alerting` (created and migrated by
 * the services, idle until the sample starts), then VACUUM ANALYZEs it as autovacuum would have long since:
 * the sample must not pay for setting hint bits on rows a live system would have settled.
 */
export async function seedCell(db: Client, runId: string, cell: GrowthCell, anchorSeconds: number): Promise<SeedResult> {
  const started = Date.now();
  const agg = `${runId}_aggregation`;
  const alerting = `${runId}_threshold_alerting`;
  const s = `"${agg}"`;
  const x = seedEventSql(anchorSeconds);
  const idsValues = await eventIdsValues(db, agg);
  const ledgerColumns = ['tenant', 'source', 'event_id', 'subject', 'type', 'time', 'readings', 'data'];
  const windowColumns = ['tenant', 'customer', 'meter', 'window_kind', 'window_start', 'window_end', 'aggregation', 'sum_value', 'event_count', 'min_value', 'max_value', 'latest_value', 'latest_time', 'distinct_count', 'last_event_time', 'version'];
  await assertFills(db, agg, 'event_ids', Object.keys(idsValues));
  await assertFills(db, agg, 'event_ledger', [...ledgerColumns, 'ingested_at']);
  await assertFills(db, agg, 'window_aggregates', windowColumns);
  await assertFills(db, agg, 'window_distinct_values', ['tenant', 'customer', 'meter', 'window_kind', 'window_start', 'value']);
  await assertFills(db, alerting, 'day_usage', ['tenant', 'customer', 'meter', 'day_start', 'day_end', 'value', 'version']);
  // Bulk load: nothing is lost if this session's commits are not yet flushed when it ends (the bench drops it all).
  await db.query(`SET synchronous_commit = off`);
  await db.query(`SET work_mem = '256MB'`);
  const steps: Record<string, number> = {};
  const step = async (name: string, work: () => Promise<unknown>) => {
    const t0 = Date.now();
    await work();
    steps[name] = Math.round((Date.now() - t0) / 100) / 10;
  };
  const events = `
    SELECT c, k, ${x.id} AS event_id, ${x.subject} AS subject, ${x.time} AS time, ${x.calls} AS calls, ${x.user} AS usr
    FROM generate_series(0, ${cell.customers - 1}) c CROSS JOIN generate_series(0, ${cell.eventsPerCustomer - 1}) k`;
  const withPayload = `SELECT event_id, subject, time, ${readingsSql()} AS readings, jsonb_build_object('calls', calls, 'user', usr) AS data FROM (${events}) g`;
  const aggregationTables = ['event_ids', 'event_ledger', 'window_aggregates', 'window_distinct_values'];
  let loaded = 0;
  const rows: Record<string, number> = {};
  const insert = async (table: string, sql: string) => {
    const t0 = Date.now();
    rows[table] = (await db.query(sql)).rowCount ?? 0;
    steps[`insert ${table}`] = Math.round((Date.now() - t0) / 100) / 10;
  };
  await withoutIndexes(db, agg, aggregationTables, async () => {
    const t0 = Date.now();
    await insert('aggregation.event_ids', `
      INSERT INTO ${s}.event_ids (${Object.keys(idsValues).join(', ')})
      SELECT ${Object.values(idsValues).join(', ')} FROM (${withPayload}) e`);
    await insert('aggregation.event_ledger', `
      INSERT INTO ${s}.event_ledger (${ledgerColumns.join(', ')})
      SELECT '${TENANT}', '${SOURCE}', event_id, subject, '${TYPE}', time, readings, data FROM (${withPayload}) e`);
    // Each event's DAY and PERIOD window (calendar month in UTC: the bench customers have no subscription),
    // per meter, with the accumulators applyDeltas keeps.
    await insert('aggregation.window_aggregates', `
      WITH w AS (
        SELECT subject, kind, ws, we, time, calls, k FROM (${events}) g
        CROSS JOIN LATERAL (VALUES
          ('DAY', date_trunc('day', time, 'UTC'), date_trunc('day', time, 'UTC') + interval '24 hours'),
          ('PERIOD', date_trunc('month', time, 'UTC'), (date_trunc('month', time, 'UTC') AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC')
        ) v(kind, ws, we)
      ), per_window AS (
        SELECT subject, kind, ws, we, count(*) AS n, sum(calls) AS calls_sum, min(calls) AS calls_min, max(calls) AS calls_max,
               (max(ARRAY[extract(epoch FROM time)::bigint, k, calls]))[3] AS calls_latest, max(time) AS last_time
        FROM w GROUP BY subject, kind, ws, we
      )
      INSERT INTO ${s}.window_aggregates (${windowColumns.join(', ')})
      SELECT '${TENANT}', subject, m.meter, kind, ws, we, m.aggregation, m.sum_value, n, m.min_value, m.max_value, m.latest_value, m.latest_time, m.distinct_count, last_time, 1
      FROM per_window CROSS JOIN LATERAL (VALUES
        ('calls', 'SUM', calls_sum::numeric, calls_min::numeric, calls_max::numeric, calls_latest::numeric, last_time, 0::bigint),
        ('requests', 'COUNT', 0::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::timestamptz, 0::bigint),
        ('users', 'UNIQUE_COUNT', 0::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::timestamptz, n)
      ) m(meter, aggregation, sum_value, min_value, max_value, latest_value, latest_time, distinct_count)`);
    await insert('aggregation.window_distinct_values', `
      INSERT INTO ${s}.window_distinct_values (tenant, customer, meter, window_kind, window_start, value)
      SELECT '${TENANT}', subject, 'users', v.kind, v.ws, usr FROM (${events}) g
      CROSS JOIN LATERAL (VALUES ('DAY', date_trunc('day', time, 'UTC')), ('PERIOD', date_trunc('month', time, 'UTC'))) v(kind, ws)`);
    loaded = (Date.now() - t0) / 1000;
  });
  steps['aggregation load'] = Math.round(loaded * 10) / 10;
  await withoutIndexes(db, alerting, ['day_usage'], () =>
    step('threshold-alerting load', () =>
      // threshold-alerting keeps the newest DAY aggregate per customer, meter and day (for the forecast).
      insert('threshold_alerting.day_usage', `
        INSERT INTO "${alerting}".day_usage (tenant, customer, meter, day_start, day_end, value, version)
        SELECT tenant, customer, meter, window_start, window_end,
               CASE aggregation WHEN 'SUM' THEN sum_value WHEN 'COUNT' THEN event_count WHEN 'UNIQUE_COUNT' THEN distinct_count END, version
        FROM ${s}.window_aggregates WHERE window_kind = 'DAY'`),
    ),
  );
  steps['load + index builds'] = Math.round((Date.now() - started) / 100) / 10;
  await step('vacuum analyze', async () => {
    for (const t of aggregationTables) await db.query(`VACUUM (ANALYZE) ${s}.${t}`);
    await db.query(`VACUUM (ANALYZE) "${alerting}".day_usage`);
  });
  await db.query(`RESET synchronous_commit`);
  await db.query(`RESET work_mem`);
  return { seconds: (Date.now() - started) / 1000, steps, rows };
}

function seededUsageEvent(c: number, k: number, anchorSeconds: number): UsageEvent {
  const v = seededEventValues(c, k, anchorSeconds);
  const time = new Date(v.time * 1000).toISOString();
  const valueOf: Record<string, string> = { '$.calls': String(v.calls), '$.user': v.user };
  return {
    eventId: `${TENANT}:${SOURCE}:${v.id}`,
    occurredAt: time,
    tenant: TENANT,
    id: v.id,
    source: SOURCE,
    type: TYPE,
    subject: v.subject,
    time,
    data: { calls: v.calls, user: v.user },
    readings: BENCH_METERS.map((m) => ({ meter: m.slug, aggregation: m.aggregation as UsageEvent['readings'][number]['aggregation'], value: m.aggregation === 'COUNT' ? null : valueOf[m.valueProperty ?? ''], groupBy: {} })),
  } as UsageEvent;
}

export interface DuplicateCheck {
  /** Seeded ids offered to aggregation's claim statement. */
  offered: number;
  /** Of those, taken as new (must be 0). */
  claimed: number;
  /** Conflicting duplicates it recorded for them (0 when the seeded payload hash matches the code's). */
  conflicts: number;
  /** Whether a fresh id in the same batch was claimed (it must be). */
  freshClaimed: boolean;
}

/**
 * Offers some seeded events (first, last and the middle customer) plus one fresh event to aggregation's own
 * claim statement (UsageLedgerRepository.recordNew) in a transaction that is rolled back: the seeded ones must
 * come back as duplicates without a conflict, the fresh one as new. This is what ties the seeding to the dedupe
 * key and payload hash the code derives.
 */
export async function checkSeededDuplicates(databaseUrl: string, runId: string, cell: GrowthCell, anchorSeconds: number): Promise<DuplicateCheck> {
  const dataSource = await openServiceDataSource({ url: databaseUrl, schema: `${runId}_aggregation`, migrations: aggregationService.migrations, poolSize: 2, applicationName: 'bench-growth-check' });
  const repository = new UsageLedgerRepository();
  const picks = [...new Map([[0, 0], [cell.customers - 1, cell.eventsPerCustomer - 1], [Math.floor(cell.customers / 2), Math.floor(cell.eventsPerCustomer / 2)]].map(([c, k]) => [`${c}-${k}`, [c, k]])).values()];
  const seeded = picks.map(([c, k]) => seededUsageEvent(c, k, anchorSeconds));
  const fresh = { ...seededUsageEvent(0, 0, anchorSeconds), id: `growth-check-fresh-${runId}`, eventId: `${TENANT}:${SOURCE}:growth-check-fresh-${runId}` };
  const rollback = new Error('rollback');
  let result: DuplicateCheck | undefined;
  try {
    await dataSource.transaction(async (manager) => {
      const counted = await repository.recordNew(manager, [...seeded, fresh]);
      const [{ n }] = await manager.query(`SELECT count(*)::int AS n FROM "${runId}_aggregation".event_conflicts`);
      result = { offered: seeded.length, claimed: counted.filter((e) => e !== fresh).length, conflicts: n, freshClaimed: counted.includes(fresh) };
      throw rollback;
    });
  } catch (e) {
    if (e !== rollback) throw e;
  } finally {
    await dataSource.destroy();
  }
  return result!;
}

/** Keeps the PERIOD windows as seeded, so the sample's contribution can be told from the seeded totals. */
export async function snapshotPeriods(db: Client, runId: string): Promise<void> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS "${runId}_growth"`);
  await db.query(`
    CREATE TABLE "${runId}_growth".period_baseline AS
    SELECT customer, meter, window_start, sum_value, event_count, distinct_count, version
    FROM "${runId}_aggregation".window_aggregates WHERE window_kind = 'PERIOD' AND tenant = '${TENANT}'`);
  await db.query(`ALTER TABLE "${runId}_growth".period_baseline ADD PRIMARY KEY (customer, meter, window_start)`);
}

/**
 * The sample's totals per customer and month, exactly: each PERIOD window the sample changed, minus its seeded
 * state. A seeded id the pipeline counted again would change its window and show as a mismatch.
 */
export async function verifySample(db: Client, runId: string, expected: ExpectedTotals): Promise<string[]> {
  const rows = (
    await db.query(
      `SELECT a.customer, a.meter, to_char(a.window_start AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
              (a.sum_value - coalesce(b.sum_value, 0))::text AS sum, (a.event_count - coalesce(b.event_count, 0))::text AS n,
              (a.distinct_count - coalesce(b.distinct_count, 0))::text AS d
       FROM "${runId}_aggregation".window_aggregates a
       LEFT JOIN "${runId}_growth".period_baseline b USING (customer, meter, window_start)
       WHERE a.window_kind = 'PERIOD' AND a.tenant = '${TENANT}' AND (b.version IS NULL OR a.version <> b.version)`,
    )
  ).rows as PeriodRow[];
  return compareTotals(rows, expected);
}
