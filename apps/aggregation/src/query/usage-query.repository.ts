import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { READ_DATA_SOURCE } from '@tally/nest-platform';
import type { Aggregation } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import { TIME_WEIGHTED_DECIMALS } from '../domain/time-weighted-sum';
import { unwindowedLabel, zeroCountRows, type UsageQuery } from './query-params';

export interface UsageRow {
  value: string;
  windowStart: string;
  windowEnd: string;
  subject: string | null;
  groupBy: Record<string, string | null>;
}

const floorMinute = (d: Date) => new Date(Math.floor(d.getTime() / 60_000) * 60_000);

/** SQL aggregate of one meter's readings (`r.value` text, `r.time`). */
const AGGREGATE: Record<Aggregation, string> = {
  SUM: 'sum(r.value::numeric)::text',
  COUNT: 'count(*)::text',
  MAX: 'max(r.value::numeric)::text',
  MIN: 'min(r.value::numeric)::text',
  AVG: 'avg(r.value::numeric)::text',
  // Distinct over the whole window or range, never a sum of smaller windows.
  UNIQUE_COUNT: 'count(DISTINCT r.value)::text',
  LATEST: '(array_agg(r.value::numeric ORDER BY r.time DESC))[1]::text',
  TIME_WEIGHTED_SUM: '', // not a per-row aggregate: answered by timeWeighted() below
};

/**
 * Answers usage queries from the ledger (the raw events), so any window size and time zone, and exact
 * distinct counts over any range, come out right without pre-computing them.
 */
@Injectable()
export class UsageQueryRepository {
  /** On the API's read pool: its statement_timeout bounds what one query can cost. */
  constructor(@Inject(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async query(tenant: string, q: UsageQuery): Promise<{ aggregation: Aggregation | null; rows: UsageRow[] }> {
    const s = schemaOf(this.dataSource);
    // The meter's aggregation, from any of its readings (Tally's aggregation learns meters from their events;
    // a meter without any event answers no row). Not bounded by the range: a count over a range without events is 0.
    const [kind] = await this.dataSource.query(
      `SELECT x.aggregation FROM ${s}.event_ledger l CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, aggregation text)
       WHERE l.tenant = $1 AND x.meter = $2 LIMIT 1`,
      [tenant, q.meter],
    );
    if (!kind) return { aggregation: null, rows: [] };
    const aggregation = kind.aggregation as Aggregation;
    let rows: UsageRow[];
    if (aggregation === 'TIME_WEIGHTED_SUM') {
      // A gauge is held until the next reading or `to`, so an open end needs a bound: from the first reading
      // (nothing is held before it) and to now (a value is held up to the present, not forever).
      const first = q.from ?? (await this.eventSpan(tenant, { ...q, from: null }))?.first;
      rows = first ? await this.select(tenant, { ...q, from: q.from ?? floorMinute(first), to: q.to ?? new Date() }, aggregation) : [];
    } else rows = await this.select(tenant, q, aggregation);
    const zeros = zeroCountRows(q, aggregation, rows.map((r) => r.subject));
    for (const subject of zeros) {
      const label = unwindowedLabel(q, null, null);
      rows.push({ value: '0', windowStart: label.windowStart.toISOString(), windowEnd: label.windowEnd.toISOString(), subject, groupBy: {} });
    }
    if (zeros.length > 0) rows.sort((a, b) => (a.subject ?? '').localeCompare(b.subject ?? ''));
    return { aggregation, rows };
  }

  /**
   * First and last event time of the meter's readings matching the query's subjects within its bounds (null:
   * none): the range an open-ended windowed query can answer, for the window-count limit.
   */
  async eventSpan(tenant: string, q: Pick<UsageQuery, 'meter' | 'subjects' | 'from' | 'to'>): Promise<{ first: Date; last: Date } | null> {
    const s = schemaOf(this.dataSource);
    const params: unknown[] = [tenant, q.meter];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const [row] = await this.dataSource.query(
      `SELECT min(l.time) AS first, max(l.time) AS last
       FROM ${s}.event_ledger l CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text)
       WHERE l.tenant = $1 AND x.meter = $2
       ${q.subjects.length > 0 ? `AND l.subject = ANY(${p(q.subjects)}::text[])` : ''}
       ${q.from ? `AND l.time >= ${p(q.from.toISOString())}::timestamptz` : ''} ${q.to ? `AND l.time < ${p(q.to.toISOString())}::timestamptz` : ''}`,
      params,
    );
    return row?.first ? { first: row.first as Date, last: row.last as Date } : null;
  }

  private async select(tenant: string, q: UsageQuery, aggregation: Aggregation): Promise<UsageRow[]> {
    const s = schemaOf(this.dataSource);
    const params: unknown[] = [tenant, q.meter];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    // An open end has no condition (and no parameter: Postgres cannot type an unused one). The time-weighted SQL
    // always has both ends, as $3 and $4.
    const bounds = `${q.from ? `AND l.time >= ${p(q.from.toISOString())}::timestamptz` : ''} ${q.to ? `AND l.time < ${p(q.to.toISOString())}::timestamptz` : ''}`;
    if (aggregation === 'TIME_WEIGHTED_SUM' && !(q.from && q.to)) throw new Error('a time-weighted query needs both bounds');
    const subjectFilter = q.subjects.length > 0 ? `AND l.subject = ANY(${p(q.subjects)}::text[])` : '';
    const readings = `
      SELECT l.subject, l.time, x.value, x.aggregation, x."groupBy" AS group_by
      FROM ${s}.event_ledger l CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, aggregation text, value text, "groupBy" jsonb)
      WHERE l.tenant = $1 AND x.meter = $2 ${bounds} ${subjectFilter}`;
    const unit = q.windowSize?.toLowerCase();
    const tz = unit ? p(q.windowTimeZone) : '';
    // Windows are aligned in the requested time zone; the end adds one unit of wall-clock time there, so a
    // DAY across a DST change is 23 or 25 hours long, as a customer in that zone expects. Unwindowed rows are
    // labelled afterwards (unwindowedLabel), from the first and last event they counted.
    const windowStart = unit ? `date_trunc('${unit}', r.time, ${tz}::text)` : 'NULL::timestamptz';
    const windowEnd = unit ? `((date_trunc('${unit}', r.time, ${tz}::text) AT TIME ZONE ${tz}::text) + interval '1 ${unit}') AT TIME ZONE ${tz}::text` : 'NULL::timestamptz';
    // A reading without a group-by property groups as "" (OpenMeter), not apart from one that has "".
    const groupCols = q.groupBy.map((g, i) => `COALESCE(r.group_by ->> ${p(g)}, '') AS g${i}`);
    const keys = ['window_start', 'window_end', ...(q.subjects.length > 0 ? ['subject'] : []), ...q.groupBy.map((_, i) => `g${i}`)];
    const rows: Array<Record<string, unknown>> = aggregation === 'TIME_WEIGHTED_SUM'
      ? await this.dataSource.query(this.timeWeightedSql(s, subjectFilter, unit, tz, groupCols, keys), params)
      : await this.dataSource.query(
      `SELECT window_start, window_end, ${q.subjects.length > 0 ? 'subject,' : ''} ${q.groupBy.map((_, i) => `g${i},`).join(' ')} ${AGGREGATE[aggregation].replace(/r\./g, 'w.')} AS value,
              min(w.time) AS first_time, max(w.time) AS last_time
       FROM (SELECT ${windowStart} AS window_start, ${windowEnd} AS window_end, r.subject, r.value, r.time ${groupCols.map((c) => `, ${c}`).join('')}
             FROM (${readings}) r) w
       GROUP BY ${keys.join(', ')}
       ORDER BY ${keys.join(', ')}`,
      params,
    );
    return rows.map((r) => {
      const label = unit
        ? { windowStart: r.window_start as Date, windowEnd: r.window_end as Date }
        : unwindowedLabel(q, (r.first_time as Date | undefined) ?? q.from, (r.last_time as Date | undefined) ?? q.to);
      return {
        value: r.value === null ? '0' : String(r.value),
        windowStart: label.windowStart.toISOString(),
        windowEnd: label.windowEnd.toISOString(),
        subject: q.subjects.length > 0 ? (r.subject as string) : null,
        groupBy: Object.fromEntries(q.groupBy.map((g, i) => [g, (r[`g${i}`] as string | null) ?? ''])),
      };
    });
  }

  /**
   * Gauges: each reading holds until the next one of its series (subject + group-by values) or `to`; the
   * value held when the range opens is the series' last reading before `from`. Each hold is split across
   * the windows it overlaps and summed as value x hours, the same rule the aggregation applies to DAY and
   * PERIOD windows (domain/time-weighted-sum.ts).
   */
  private timeWeightedSql(s: string, subjectFilter: string, unit: string | undefined, tz: string, groupCols: string[], keys: string[]): string {
    // Millisecond times and one rounding to 18 decimals, exactly as the stored DAY/PERIOD windows do.
    const reading = `SELECT l.subject, date_trunc('milliseconds', l.time) AS time, l.event_id, x.value::numeric AS value, COALESCE(x."groupBy", '{}'::jsonb) AS group_by
      FROM ${s}.event_ledger l CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, value text, "groupBy" jsonb)
      WHERE l.tenant = $1 AND x.meter = $2 ${subjectFilter}`;
    const windows = unit
      ? `SELECT g AT TIME ZONE ${tz}::text AS window_start, (g + interval '1 ${unit}') AT TIME ZONE ${tz}::text AS window_end
         FROM generate_series(date_trunc('${unit}', $3::timestamptz, ${tz}::text) AT TIME ZONE ${tz}::text, $4::timestamptz AT TIME ZONE ${tz}::text, interval '1 ${unit}') g`
      : `SELECT $3::timestamptz AS window_start, $4::timestamptz AS window_end`;
    return `
      WITH r AS (
        ${reading} AND l.time >= $3::timestamptz AND l.time < $4::timestamptz
        UNION ALL
        (SELECT DISTINCT ON (subject, group_by) * FROM (${reading} AND l.time < $3::timestamptz) c
         ORDER BY subject, group_by, time DESC, event_id COLLATE "C" DESC)),
      held AS (
        SELECT subject, group_by, value, GREATEST(time, $3::timestamptz) AS s,
          LEAST(COALESCE(lead(time) OVER (PARTITION BY subject, group_by ORDER BY time, event_id COLLATE "C"), $4::timestamptz), $4::timestamptz) AS e
        FROM r),
      w AS (${windows})
      SELECT ${keys.join(', ')}, trim_scale(round(sum(value * extract(epoch FROM LEAST(e, window_end) - GREATEST(s, window_start)) * 1000)
        * 1.000000000000000000000000000000 / 3600000, ${TIME_WEIGHTED_DECIMALS}))::text AS value
      FROM (SELECT w.window_start, w.window_end, h.subject, h.value, h.s, h.e ${groupCols.map((c) => `, ${c.replace('r.group_by', 'h.group_by')}`).join('')}
            FROM held h JOIN w ON h.s < w.window_end AND h.e > w.window_start WHERE h.e > h.s) x
      GROUP BY ${keys.join(', ')}
      ORDER BY ${keys.join(', ')}`;
  }
}
