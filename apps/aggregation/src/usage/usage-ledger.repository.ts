import { Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { Counter, register } from 'prom-client';
import { INPUT_LIMITS, TOPICS, type Aggregation, type UsageEvent, type WindowKind } from '@tally/contracts';
import { lockKeys, schemaOf } from '@tally/postgres';
import { isKnownTimeZone, type PeriodProration } from '../domain/held-unit-days';
import { timeWeightedSum, type GaugeReading } from '../domain/time-weighted-sum';
import { windowDeltaKey, type WindowDelta } from '../domain/window-deltas';
import type { BillingPeriod } from '../domain/windows';

export interface StoredWindow {
  tenant: string;
  customer: string;
  meter: string;
  window_kind: WindowKind;
  window_start: Date;
  window_end: Date;
  aggregation: Aggregation;
  sum_value: string;
  event_count: string;
  min_value: string | null;
  max_value: string | null;
  latest_value: string | null;
  distinct_count: string;
  last_event_time: Date;
  version: string;
  /** PERIOD windows of prorated SUM meters only (domain/held-unit-days.ts); null elsewhere. */
  held_unit_days: string | null;
}

/**
 * What a subscription message says of its period's proration: both null when it charges no meter prorated (the
 * period then keeps what it had: see MERGED_PRORATED_METERS). Without a zone the runtime knows, the zone is null:
 * no day can be counted, so heldUnitDays is maintained nowhere and billing refuses to guess.
 */
export function periodProrationColumns(timeZone: string | undefined, proratedMeters: readonly string[] | undefined): { timeZone: string | null; meters: string | null } {
  const meters = [...new Set(proratedMeters ?? [])].sort(byCodeUnits);
  if (meters.length === 0) return { timeZone: null, meters: null };
  return { timeZone: timeZone !== undefined && isKnownTimeZone(timeZone) ? timeZone : null, meters: JSON.stringify(meters) };
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The payload a duplicate is compared on: subject, type, time (to the microsecond, whatever its notation),
 * readings and data, as canonical jsonb text (keys sorted, whitespace dropped) so a producer that re-orders
 * keys or re-formats the time does not make a conflict. SHA-256, 32 bytes. `x` is the duplicate's row or the
 * counted event's ledger row: the same columns, so the same hash for the same payload.
 */
const payloadHashSql = (x: string) =>
  `sha256(convert_to(jsonb_build_array(${x}.subject, ${x}.type, extract(epoch FROM ${x}.time), ${x}.readings, ${x}.data)::text, 'UTF8'))`;

/**
 * Why an event's idempotency key is refused: a tenant, source or id longer than ingestion accepts
 * (INPUT_LIMITS, UTF-8 bytes). The hashed key would store any length, but only ingestion writes
 * usage.events.v1, within these limits; a longer one is a bad producer's message, refused as a whole batch
 * (so the consumer isolates and dead-letters it) as Postgres' B-tree refused it before the key was hashed.
 */
export function keyLimitProblem(e: Pick<UsageEvent, 'tenant' | 'source' | 'id'>): string | undefined {
  for (const name of ['tenant', 'source', 'id'] as const) {
    const value = e[name];
    const max = INPUT_LIMITS.attributeBytes[name];
    if (value.length * 3 <= max) continue; // at most 3 UTF-8 bytes per UTF-16 unit
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > max) return `${name} is ${bytes} bytes (UTF-8); at most ${max} are accepted (INPUT_LIMITS)`;
  }
  return undefined;
}

/** The conflicting payload kept for the API, bounded: one producer bug must not fill the database. */
export const CONFLICT_SAMPLE_CHARS = 4096;

export function conflictSample(e: Pick<UsageEvent, 'subject' | 'type' | 'time' | 'readings' | 'data'>): { sample: string; truncated: boolean } {
  const full = JSON.stringify({ subject: e.subject, type: e.type, time: e.time, readings: e.readings, data: e.data });
  if (full.length <= CONFLICT_SAMPLE_CHARS) return { sample: full, truncated: false };
  // Never cut a surrogate pair in two: half of one is not text.
  const cut = /[\uD800-\uDBFF]/.test(full[CONFLICT_SAMPLE_CHARS - 1]) ? CONFLICT_SAMPLE_CHARS - 1 : CONFLICT_SAMPLE_CHARS;
  return { sample: full.slice(0, cut), truncated: true };
}

const registeredConflicts = register.getSingleMetric('tally_conflicting_duplicates_total') as Counter | undefined;
/** No tenant label (unbounded cardinality); which tenant and event: GET /api/v1/events/conflicts. */
export const conflictingDuplicates =
  registeredConflicts ??
  new Counter({
    name: 'tally_conflicting_duplicates_total',
    help: 'Events dropped as duplicates of an already counted (tenant, source, id) whose payload differs from the counted one',
    labelNames: ['topic'],
  });

/**
 * A period's prorated meters only grow: a plan change mid-period to a plan that drops a prorated charge still
 * bills the old charge for this period (prorated, on the old plan), so its heldUnitDays must go on being kept.
 * Sorted and distinct, as periodProrationColumns writes them, so an unchanged set does not rebuild the period.
 */
const MERGED_PRORATED_METERS = `CASE WHEN p.prorated_meters IS NULL THEN excluded.prorated_meters WHEN excluded.prorated_meters IS NULL THEN p.prorated_meters
  ELSE ARRAY(SELECT DISTINCT m COLLATE "C" FROM unnest(p.prorated_meters || excluded.prorated_meters) AS m ORDER BY 1) END`;
/** A message that charges nothing prorated keeps the period's zone with its meters; one that does sets it. */
const MERGED_TIME_ZONE = `CASE WHEN excluded.prorated_meters IS NULL THEN p.time_zone ELSE excluded.time_zone END`;

/** Set-based SQL only: every statement here handles the whole batch. */
@Injectable()
export class UsageLedgerRepository {
  private readonly knownPartitions = new Set<string>();

  /**
   * Records the events; returns those not seen before (duplicates are skipped, not counted). One statement:
   * the ids are claimed by their key (`event_key`: a SHA-256 of the length-prefixed tenant, source and id;
   * migration 1732400000400) and only the claimed events go into the ledger (the first of any repeated id).
   * Only when the batch holds duplicates, their payload hashes come back and a second statement compares
   * them with the counted events' ledger rows and records the conflicting ones (see recordConflicts).
   */
  async recordNew(manager: EntityManager, events: UsageEvent[]): Promise<UsageEvent[]> {
    if (events.length === 0) return [];
    for (const e of events) {
      const problem = keyLimitProblem(e);
      if (problem) throw new Error(`usage event refused before its dedupe key: ${problem}`);
    }
    const s = schemaOf(manager.connection);
    // Partitions for every event's day, duplicates included: created before the statement that needs them.
    await this.ensureDayPartitions(manager.connection, events.map((e) => new Date(e.time)));
    const rows: Array<{ ord: string; duplicate_hash: string | null }> = await manager.query(
      `WITH raw AS (
         SELECT x.*, ${s}.event_key(x.tenant, x.source, x.event_id) AS key
         FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (tenant text, source text, id text, subject text, type text, time timestamptz, readings jsonb, data jsonb))
           WITH ORDINALITY AS x(tenant, source, event_id, subject, type, time, readings, data, ord)
       ), input AS (
         SELECT DISTINCT ON (key) * FROM raw ORDER BY key, ord
       ), claimed AS (
         INSERT INTO ${s}.event_ids (key, tenant, time)
         SELECT key, tenant, time FROM input
         ON CONFLICT (key) DO NOTHING
         RETURNING key
       ), recorded AS (
         INSERT INTO ${s}.event_ledger (tenant, source, event_id, subject, type, time, readings, data)
         SELECT i.tenant, i.source, i.event_id, i.subject, i.type, i.time, i.readings, i.data FROM input i JOIN claimed USING (key)
       ), counted AS (
         SELECT i.ord FROM input i JOIN claimed USING (key)
       )
       SELECT ord, NULL AS duplicate_hash FROM counted
       UNION ALL
       SELECT ord, encode(${payloadHashSql('raw')}, 'hex') FROM raw WHERE ord NOT IN (SELECT ord FROM counted)`,
      // The batch as one JSON document (its fields are the event's own): one native stringify instead of
      // eight arrays whose every element the driver escapes (its array literal escaping was ~3 % of the profile).
      [JSON.stringify(events)],
    );
    const duplicates = rows.filter((r) => r.duplicate_hash !== null).map((r) => ({ event: events[Number(r.ord) - 1], hash: r.duplicate_hash as string }));
    if (duplicates.length > 0) conflictingDuplicates.inc({ topic: TOPICS.usageEvents }, await this.recordConflicts(manager, duplicates));
    return rows.filter((r) => r.duplicate_hash === null).map((r) => Number(r.ord)).sort((a, b) => a - b).map((ord) => events[ord - 1]);
  }

  /**
   * Of the duplicates of a batch, records those whose payload differs from the counted event's (an earlier
   * batch's, a concurrent one's — committed by now, since the claim waited for it —, or this batch's first)
   * and returns how many there were. Runs after the claim, in the batch's transaction. Identical copies (a
   * producer's retry) are not conflicts. The counted payload is the ledger row of the claimed key and time
   * (one day partition, by the ledger's (tenant, time) index); an id whose ledger row is gone (a dropped
   * partition) cannot be compared and is not reported.
   */
  async recordConflicts(manager: EntityManager, duplicates: Array<{ event: UsageEvent; hash: string }>): Promise<number> {
    const groups = new Map<string, { event: UsageEvent; hash: string; count: number }>();
    for (const d of duplicates) {
      const key = JSON.stringify([d.event.tenant, d.event.source, d.event.id, d.hash]);
      const group = groups.get(key);
      if (group) group.count += 1;
      else groups.set(key, { ...d, count: 1 });
    }
    const s = schemaOf(manager.connection);
    const all = [...groups.values()];
    // The counted events' times first: with them as values, the ledger lookup below is planned on their day
    // partitions only (planning the join over every day's partition took ~8 ms, more than the rest of a batch).
    // As text, not Date: a Date would drop the microseconds and miss the row.
    const counted: Array<{ ord: string; time: string }> = await manager.query(
      `SELECT d.ord, e.time::text AS time FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS d(tenant, source, event_id, ord)
       JOIN ${s}.event_ids e ON e.key = ${s}.event_key(d.tenant, d.source, d.event_id)`,
      [all.map((g) => g.event.tenant), all.map((g) => g.event.source), all.map((g) => g.event.id)],
    );
    const list = counted.map((c) => ({ ...all[Number(c.ord) - 1], countedTime: c.time }));
    if (list.length === 0) return 0;
    const samples = list.map((g) => conflictSample(g.event));
    const [row]: Array<{ conflicts: string }> = await manager.query(
      `WITH d AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::boolean[], $8::timestamptz[])
           AS d(tenant, source, event_id, hash, n, sample, sample_truncated, counted_time)
       ), counted AS (
         SELECT d.*, ${payloadHashSql('l')} AS first_hash
         FROM d JOIN ${s}.event_ledger l ON l.tenant = d.tenant AND l.time = d.counted_time AND l.source = d.source AND l.event_id = d.event_id
         WHERE l.time = ANY($9::timestamptz[])
       ), conflicting AS (
         SELECT tenant, source, event_id, first_hash, decode(hash, 'hex') AS conflicting_hash, n, sample, sample_truncated
         FROM counted WHERE first_hash <> decode(hash, 'hex')
       ), noted AS (
         INSERT INTO ${s}.event_conflicts AS c
           (tenant, source, event_id, first_hash, conflicting_hash, count, sample, sample_truncated)
         SELECT tenant, source, event_id, first_hash, conflicting_hash, n, sample, sample_truncated FROM conflicting
         ON CONFLICT (tenant, source, event_id, conflicting_hash) DO UPDATE SET count = c.count + excluded.count, last_seen = now()
       )
       SELECT COALESCE(sum(n), 0)::text AS conflicts FROM conflicting`,
      [
        list.map((g) => g.event.tenant),
        list.map((g) => g.event.source),
        list.map((g) => g.event.id),
        list.map((g) => g.hash),
        list.map((g) => g.count),
        samples.map((x) => x.sample),
        samples.map((x) => x.truncated),
        list.map((g) => g.countedTime),
        [...new Set(list.map((g) => g.countedTime))],
      ],
    );
    return Number(row?.conflicts ?? 0);
  }

  /**
   * Creates the ledger's day partitions the events need, each in its own committed statement outside the
   * batch's transaction: a partition created inside a batch that then rolls back would be remembered here
   * but not exist, and concurrent batches cannot see an uncommitted one. Days are remembered only once
   * they exist for everyone.
   */
  async ensureDayPartitions(dataSource: DataSource, times: Date[]): Promise<void> {
    const s = schemaOf(dataSource);
    const days = [...new Set(times.map((t) => t.toISOString().slice(0, 10)))].filter((d) => !this.knownPartitions.has(`${s}:${d}`));
    for (const day of days) {
      const start = new Date(`${day}T00:00:00Z`);
      const end = new Date(start.getTime() + 86_400_000);
      try {
        await dataSource.query(
          `CREATE TABLE IF NOT EXISTS ${s}."event_ledger_${day.replace(/-/g, '')}" PARTITION OF ${s}.event_ledger
           FOR VALUES FROM ('${start.toISOString()}') TO ('${end.toISOString()}')`,
        );
      } catch (e) {
        // Another instance or batch created it between our IF NOT EXISTS check and the create.
        if (!['42P07', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      }
      this.knownPartitions.add(`${s}:${day}`);
    }
  }

  /** Days around now that will surely receive events: created ahead so batches rarely need DDL. */
  async precreatePartitions(dataSource: DataSource, now = new Date(), daysBack = 35, daysAhead = 2): Promise<void> {
    const times = Array.from({ length: daysBack + daysAhead + 1 }, (_, i) => new Date(now.getTime() + (i - daysBack) * 86_400_000));
    await this.ensureDayPartitions(dataSource, times);
  }

  /** Drops ledger days older than the retention and forgets their event ids. Returns the days dropped. */
  async dropExpired(manager: EntityManager, retentionDays: number, now = new Date()): Promise<string[]> {
    const s = schemaOf(manager.connection);
    const cutoff = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - retentionDays * 86_400_000);
    const partitions: Array<{ name: string }> = await manager.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace WHERE p.relname = 'event_ledger' AND n.nspname = $1`,
      [s.replace(/"/g, '')],
    );
    const cutoffName = `event_ledger_${cutoff.toISOString().slice(0, 10).replace(/-/g, '')}`;
    const expired = partitions.map((p) => p.name).filter((name) => name < cutoffName).sort();
    for (const name of expired) {
      await manager.query(`DROP TABLE ${s}."${name}"`);
      this.knownPartitions.clear();
    }
    await manager.query(`DELETE FROM ${s}.event_ids WHERE time < $1`, [cutoff.toISOString()]);
    return expired;
  }

  /**
   * Records each subscription's billing periods (periods only ever get added or moved); returns the periods
   * that are new or whose end moved, with their old end, so their usage can be re-bucketed.
   */
  async recordPeriods(
    manager: EntityManager,
    periods: Array<{ tenant: string; customer: string; subscriptionId: string; start: string; end: string; timeZone?: string; proratedMeters?: string[] }>,
  ): Promise<Array<{ tenant: string; customer: string; start: Date; end: Date }>> {
    if (periods.length === 0) return [];
    // One statement must not touch a row twice: the last message per subscription and period wins, except that
    // the period's prorated meters are the union of all its messages (see the upsert below).
    const byPeriod = new Map<string, (typeof periods)[number]>();
    for (const p of periods) {
      const key = `${p.tenant}\u0000${p.customer}\u0000${p.subscriptionId}\u0000${p.start}`;
      const before = byPeriod.get(key)?.proratedMeters;
      byPeriod.set(key, before === undefined ? p : { ...p, proratedMeters: [...before, ...(p.proratedMeters ?? [])] });
    }
    const latest = [...byPeriod.values()];
    const proration = latest.map((p) => periodProrationColumns(p.timeZone, p.proratedMeters));
    const changed: Array<{ tenant: string; customer: string; period_start: Date; period_end: Date; old_end: Date | null }> = await manager.query(
      `WITH input AS (SELECT tenant, customer, subscription_id, period_start, period_end, time_zone,
                               CASE WHEN meters IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(meters::jsonb)) END AS prorated_meters
                        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[])
                        AS i(tenant, customer, subscription_id, period_start, period_end, time_zone, meters)),
       old AS (SELECT p.tenant, p.customer, p.subscription_id, p.period_start, p.period_end FROM ${schemaOf(manager.connection)}.customer_periods p
               JOIN input i USING (tenant, customer, subscription_id, period_start)),
       written AS (
         INSERT INTO ${schemaOf(manager.connection)}.customer_periods AS p (tenant, customer, subscription_id, period_start, period_end, time_zone, prorated_meters)
         SELECT * FROM input
         ON CONFLICT (tenant, customer, period_start, subscription_id) DO UPDATE
           SET period_end = excluded.period_end, time_zone = ${MERGED_TIME_ZONE}, prorated_meters = ${MERGED_PRORATED_METERS}
         -- A change of zone or prorated meters rebuilds the period too: its heldUnitDays must count every event.
         WHERE p.period_end IS DISTINCT FROM excluded.period_end OR p.time_zone IS DISTINCT FROM ${MERGED_TIME_ZONE}
            OR p.prorated_meters IS DISTINCT FROM ${MERGED_PRORATED_METERS}
         RETURNING p.tenant, p.customer, p.subscription_id, p.period_start, p.period_end)
       SELECT w.tenant, w.customer, w.period_start, w.period_end, old.period_end AS old_end
       FROM written w LEFT JOIN old USING (tenant, customer, subscription_id, period_start)`,
      [
        latest.map((p) => p.tenant),
        latest.map((p) => p.customer),
        latest.map((p) => p.subscriptionId),
        latest.map((p) => p.start),
        latest.map((p) => p.end),
        proration.map((p) => p.timeZone),
        proration.map((p) => p.meters),
      ],
    );
    // A period that got shorter must rebuild the span it used to cover too.
    return changed.map((c) => ({
      tenant: c.tenant,
      customer: c.customer,
      start: c.period_start,
      end: c.old_end && c.old_end > c.period_end ? c.old_end : c.period_end,
    }));
  }

  /**
   * Serializes a customer's usage batches with the re-bucketing of its periods (sorted, so never a deadlock):
   * a batch must assign its events with the periods as committed, or they could land in a window that a
   * concurrent re-bucketing has just emptied. A batch of more customers than the lock table can hold locks them
   * all at once (lockKeys).
   */
  async lockCustomers(manager: EntityManager, customers: Array<{ tenant: string; customer: string }>): Promise<void> {
    await lockKeys(manager, `${schemaOf(manager.connection)}.periods`, customers.map((c) => `${c.tenant}:${c.customer}`));
  }

  /**
   * Known billing periods of the batch's customers. A customer's subscriptions share their period bounds
   * (billing enforces it); one canceled early ends sooner, so the period lasts as long as its longest
   * subscription. A period's prorated meters are those of all its subscriptions (they charge distinct meters).
   */
  async periodsOf(manager: EntityManager, customers: Array<{ tenant: string; customer: string }>): Promise<Map<string, BillingPeriod[]>> {
    const byCustomer = new Map<string, BillingPeriod[]>();
    if (customers.length === 0) return byCustomer;
    const rows: Array<{ tenant: string; customer: string; period_start: Date; period_end: Date; time_zone: string | null; prorated: string[][] | null }> = await manager.query(
      `SELECT tenant, customer, period_start, max(period_end) AS period_end, max(time_zone) AS time_zone,
              jsonb_agg(prorated_meters) FILTER (WHERE prorated_meters IS NOT NULL) AS prorated
       FROM ${schemaOf(manager.connection)}.customer_periods
       WHERE (tenant, customer) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       GROUP BY tenant, customer, period_start`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
    );
    for (const r of rows) {
      const key = `${r.tenant}\u0000${r.customer}`;
      const proration: PeriodProration | undefined = r.prorated !== null && r.time_zone !== null ? { timeZone: r.time_zone, meters: new Set(r.prorated.flat()) } : undefined;
      byCustomer.set(key, [...(byCustomer.get(key) ?? []), proration ? { start: r.period_start, end: r.period_end, proration } : { start: r.period_start, end: r.period_end }]);
    }
    return byCustomer;
  }

  /** Adds distinct values; returns per window how many were new. */
  async addDistinctValues(manager: EntityManager, deltas: WindowDelta[]): Promise<Map<string, number>> {
    const rows = deltas.flatMap((d) => [...d.distinctValues].map((value) => ({ d, value })));
    const added = new Map<string, number>();
    if (rows.length === 0) return added;
    const s = schemaOf(manager.connection);
    const inserted: Array<{ tenant: string; customer: string; meter: string; window_kind: WindowKind; window_start: Date }> = await manager.query(
      `INSERT INTO ${s}.window_distinct_values (tenant, customer, meter, window_kind, window_start, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
       ON CONFLICT DO NOTHING
       RETURNING tenant, customer, meter, window_kind, window_start`,
      [
        rows.map((r) => r.d.tenant),
        rows.map((r) => r.d.customer),
        rows.map((r) => r.d.meter),
        rows.map((r) => r.d.window.kind),
        rows.map((r) => r.d.window.start.toISOString()),
        rows.map((r) => r.value),
      ],
    );
    for (const r of inserted) {
      const key = windowDeltaKey({ tenant: r.tenant, customer: r.customer, meter: r.meter, window: { kind: r.window_kind, start: r.window_start, end: r.window_start } });
      added.set(key, (added.get(key) ?? 0) + 1);
    }
    return added;
  }

  /** Applies the deltas in one upsert; returns each touched window's new state (version incremented). */
  async applyDeltas(manager: EntityManager, deltas: WindowDelta[], distinctAdded: Map<string, number>): Promise<StoredWindow[]> {
    if (deltas.length === 0) return [];
    const s = schemaOf(manager.connection);
    return manager.query(
      `INSERT INTO ${s}.window_aggregates AS w (tenant, customer, meter, window_kind, window_start, window_end, aggregation,
         sum_value, event_count, min_value, max_value, latest_value, latest_time, distinct_count, last_event_time, held_unit_days, version)
       SELECT t.*, 1 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[],
         $8::numeric[], $9::bigint[], $10::numeric[], $11::numeric[], $12::numeric[], $13::timestamptz[], $14::bigint[], $15::timestamptz[],
         $16::numeric[]) AS t
       ON CONFLICT (tenant, customer, meter, window_kind, window_start) DO UPDATE SET
         sum_value = w.sum_value + excluded.sum_value,
         event_count = w.event_count + excluded.event_count,
         min_value = LEAST(w.min_value, excluded.min_value),
         max_value = GREATEST(w.max_value, excluded.max_value),
         latest_value = CASE WHEN excluded.latest_time IS NOT NULL AND (w.latest_time IS NULL OR excluded.latest_time >= w.latest_time)
                             THEN excluded.latest_value ELSE w.latest_value END,
         latest_time = GREATEST(w.latest_time, excluded.latest_time),
         distinct_count = w.distinct_count + excluded.distinct_count,
         last_event_time = GREATEST(w.last_event_time, excluded.last_event_time),
         -- NULL for every window that does not keep it (non-prorated meters): left as it is.
         held_unit_days = CASE WHEN excluded.held_unit_days IS NULL THEN w.held_unit_days ELSE COALESCE(w.held_unit_days, 0) + excluded.held_unit_days END,
         version = w.version + 1
       RETURNING tenant, customer, meter, window_kind, window_start, window_end, aggregation, sum_value::text, event_count::text,
         min_value::text, max_value::text, latest_value::text, distinct_count::text, last_event_time, version::text, held_unit_days::text`,
      [
        deltas.map((d) => d.tenant),
        deltas.map((d) => d.customer),
        deltas.map((d) => d.meter),
        deltas.map((d) => d.window.kind),
        deltas.map((d) => d.window.start.toISOString()),
        deltas.map((d) => d.window.end.toISOString()),
        deltas.map((d) => d.aggregation),
        deltas.map((d) => d.sum.toFixed()),
        deltas.map((d) => d.count),
        deltas.map((d) => d.min?.toFixed() ?? null),
        deltas.map((d) => d.max?.toFixed() ?? null),
        deltas.map((d) => d.latest?.value ?? null),
        deltas.map((d) => d.latest?.time.toISOString() ?? null),
        deltas.map((d) => distinctAdded.get(windowDeltaKey(d)) ?? 0),
        deltas.map((d) => d.lastEventTime.toISOString()),
        deltas.map((d) => (d.heldUnitDays === null ? null : d.heldUnitDays.toFixed())),
      ],
    );
  }

  /**
   * Recomputes the time-weighted sums the batch changed, from the ledger (which already holds the batch's
   * events). A reading changes its own window and, by what it carries over, the next window of the
   * customer's meter that has readings; windows without readings have no row, so the next existing row
   * is the only other one affected. Returns the recomputed rows: touched windows keep the version
   * `applyDeltas` gave them, carried-into windows get a new one.
   */
  async recomputeTimeWeighted(manager: EntityManager, touched: StoredWindow[]): Promise<StoredWindow[]> {
    const gauges = touched.filter((w) => w.aggregation === 'TIME_WEIGHTED_SUM');
    if (gauges.length === 0) return [];
    const s = schemaOf(manager.connection);
    const cols = (ws: StoredWindow[]) => [
      ws.map((w) => w.tenant),
      ws.map((w) => w.customer),
      ws.map((w) => w.meter),
      ws.map((w) => w.window_kind),
      ws.map((w) => w.window_start.toISOString()),
    ];
    const touchedKeys = new Set(gauges.map((w) => storedWindowKey(w)));
    // A reading in a touched window is held past its end until that series' next reading, through every
    // later window of the meter up to the one holding that reading (rows exist per meter, not per series:
    // another series' readings can make rows in between). No next reading: every later window.
    const following: StoredWindow[] = await manager.query(
      `WITH t AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
           AS t(tenant, customer, meter, window_kind, window_start, window_end)),
       r AS (
         SELECT t.tenant, t.customer, t.meter, t.window_kind, t.window_start, t.window_end, l.time,
                COALESCE(x."groupBy", '{}'::jsonb)::text AS series
         FROM t JOIN ${s}.event_ledger l ON l.tenant = t.tenant AND l.subject = t.customer AND l.time >= t.window_start
         CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, "groupBy" jsonb)
         WHERE x.meter = t.meter),
       reach AS (
         SELECT tenant, customer, meter, window_kind, window_start,
                CASE WHEN bool_and(next_time IS NOT NULL) THEN max(next_time) END AS until
         FROM (SELECT tenant, customer, meter, window_kind, window_start, series,
                      min(time) FILTER (WHERE time >= window_end) AS next_time
               FROM r GROUP BY tenant, customer, meter, window_kind, window_start, series
               HAVING bool_or(time < window_end)) per_series
         GROUP BY tenant, customer, meter, window_kind, window_start)
       SELECT w.tenant, w.customer, w.meter, w.window_kind, w.window_start, w.window_end
       FROM reach JOIN ${s}.window_aggregates w
         ON w.tenant = reach.tenant AND w.customer = reach.customer AND w.meter = reach.meter AND w.window_kind = reach.window_kind
        AND w.window_start > reach.window_start AND (reach.until IS NULL OR w.window_start <= reach.until)`,
      [...cols(gauges), gauges.map((w) => w.window_end.toISOString())],
    );
    const carriedInto = [...new Map(following.filter((w) => !touchedKeys.has(storedWindowKey(w))).map((w) => [storedWindowKey(w), w])).values()];
    const windows = [...gauges, ...carriedInto];
    // Per window: its readings plus, per series, the last one before it (the value held when it opens).
    const readings: Array<{ idx: number; time: Date; value: string; series: string; event_id: string }> = await manager.query(
      `WITH t AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) WITH ORDINALITY
           AS t(tenant, customer, meter, window_start, window_end, idx)),
       r AS (
         SELECT t.idx, t.window_start, l.time, x.value, COALESCE(x."groupBy", '{}'::jsonb)::text AS series, l.event_id
         FROM t JOIN ${s}.event_ledger l ON l.tenant = t.tenant AND l.subject = t.customer AND l.time < t.window_end
         CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, value text, "groupBy" jsonb)
         WHERE x.meter = t.meter)
       SELECT idx, time, value, series, event_id FROM r WHERE time >= window_start
       UNION ALL
       (SELECT DISTINCT ON (idx, series) idx, time, value, series, event_id FROM r WHERE time < window_start
        ORDER BY idx, series, time DESC, event_id COLLATE "C" DESC)`,
      [
        windows.map((w) => w.tenant),
        windows.map((w) => w.customer),
        windows.map((w) => w.meter),
        windows.map((w) => w.window_start.toISOString()),
        windows.map((w) => w.window_end.toISOString()),
      ],
    );
    const byWindow = new Map<number, GaugeReading[]>();
    for (const r of readings) {
      const list = byWindow.get(Number(r.idx)) ?? [];
      list.push({ time: r.time, value: r.value, series: r.series, order: r.event_id });
      byWindow.set(Number(r.idx), list);
    }
    const values = windows.map((w, i) => timeWeightedSum(byWindow.get(i + 1) ?? [], { start: w.window_start, end: w.window_end }).toFixed());
    return manager.query(
      `UPDATE ${s}.window_aggregates w SET sum_value = t.value, version = w.version + t.bump
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::numeric[], $7::int[])
         AS t(tenant, customer, meter, window_kind, window_start, value, bump)
       WHERE w.tenant = t.tenant AND w.customer = t.customer AND w.meter = t.meter AND w.window_kind = t.window_kind
         AND w.window_start = t.window_start
       RETURNING w.tenant, w.customer, w.meter, w.window_kind, w.window_start, w.window_end, w.aggregation, w.sum_value::text,
         w.event_count::text, w.min_value::text, w.max_value::text, w.latest_value::text, w.distinct_count::text,
         w.last_event_time, w.version::text, w.held_unit_days::text`,
      [...cols(windows), values, windows.map((w) => (touchedKeys.has(storedWindowKey(w)) ? 0 : 1))],
    ).then(([rows]: [StoredWindow[], number]) => rows);
  }
}

export const storedWindowKey = (w: Pick<StoredWindow, 'tenant' | 'customer' | 'meter' | 'window_kind' | 'window_start'>): string =>
  windowDeltaKey({ tenant: w.tenant, customer: w.customer, meter: w.meter, window: { kind: w.window_kind, start: w.window_start, end: w.window_start } });
