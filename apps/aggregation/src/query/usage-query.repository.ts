import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Aggregation } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { UsageQuery } from './query-params';

export interface UsageRow {
  value: string;
  windowStart: string;
  windowEnd: string;
  subject: string | null;
  groupBy: Record<string, string | null>;
}

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
};

/**
 * Answers usage queries from the ledger (the raw events), so any window size and time zone, and exact
 * distinct counts over any range, come out right without pre-computing them.
 */
@Injectable()
export class UsageQueryRepository {
  constructor(private readonly dataSource: DataSource) {}

  async query(tenant: string, q: UsageQuery): Promise<{ aggregation: Aggregation | null; rows: UsageRow[] }> {
    const s = schemaOf(this.dataSource);
    const params: unknown[] = [tenant, q.meter, q.from.toISOString(), q.to.toISOString()];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const subjectFilter = q.subjects.length > 0 ? `AND l.subject = ANY(${p(q.subjects)}::text[])` : '';
    const readings = `
      SELECT l.subject, l.time, x.value, x.aggregation, x."groupBy" AS group_by
      FROM ${s}.event_ledger l CROSS JOIN LATERAL jsonb_to_recordset(l.readings) AS x(meter text, aggregation text, value text, "groupBy" jsonb)
      WHERE l.tenant = $1 AND x.meter = $2 AND l.time >= $3::timestamptz AND l.time < $4::timestamptz ${subjectFilter}`;
    const [kind] = await this.dataSource.query(`SELECT r.aggregation FROM (${readings}) r LIMIT 1`, params);
    if (!kind) return { aggregation: null, rows: [] };
    const aggregation = kind.aggregation as Aggregation;
    const unit = q.windowSize?.toLowerCase();
    const tz = unit ? p(q.windowTimeZone) : '';
    // Windows are aligned in the requested time zone; the end adds one unit of wall-clock time there, so a
    // DAY across a DST change is 23 or 25 hours long, as a customer in that zone expects.
    const windowStart = unit ? `date_trunc('${unit}', r.time, ${tz}::text)` : '$3::timestamptz';
    const windowEnd = unit ? `((date_trunc('${unit}', r.time, ${tz}::text) AT TIME ZONE ${tz}::text) + interval '1 ${unit}') AT TIME ZONE ${tz}::text` : '$4::timestamptz';
    const groupCols = q.groupBy.map((g, i) => `r.group_by ->> ${p(g)} AS g${i}`);
    const keys = ['window_start', 'window_end', ...(q.subjects.length > 0 ? ['subject'] : []), ...q.groupBy.map((_, i) => `g${i}`)];
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT window_start, window_end, ${q.subjects.length > 0 ? 'subject,' : ''} ${q.groupBy.map((_, i) => `g${i},`).join(' ')} ${AGGREGATE[aggregation].replace(/r\./g, 'w.')} AS value
       FROM (SELECT ${windowStart} AS window_start, ${windowEnd} AS window_end, r.subject, r.value, r.time ${groupCols.map((c) => `, ${c}`).join('')}
             FROM (${readings}) r) w
       GROUP BY ${keys.join(', ')}
       ORDER BY ${keys.join(', ')}`,
      params,
    );
    return {
      aggregation,
      rows: rows.map((r) => ({
        value: r.value === null ? '0' : String(r.value),
        windowStart: (r.window_start as Date).toISOString(),
        windowEnd: (r.window_end as Date).toISOString(),
        subject: q.subjects.length > 0 ? (r.subject as string) : null,
        groupBy: Object.fromEntries(q.groupBy.map((g, i) => [g, (r[`g${i}`] as string | null) ?? null])),
      })),
    };
  }
}
