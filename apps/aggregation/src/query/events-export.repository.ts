import { Inject, Injectable } from '@nestjs/common';
import { Counter, register } from 'prom-client';
import type { DataSource } from 'typeorm';
import { READ_DATA_SOURCE, type FieldError } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { DEFAULT_QUERY_LIMITS, rangeProblem, RFC3339, type QueryLimits } from './query-params';

/** Events read from the ledger for CSV exports: with a slow client it grows only as fast as the client reads. */
export const exportedEventRows =
  (register.getSingleMetric('tally_events_export_rows_total') as Counter | undefined) ??
  new Counter({ name: 'tally_events_export_rows_total', help: 'Ledger events read for CSV exports of GET /api/v1/events' });

/** Events per ledger read of a CSV export: what one export holds in memory at most (plus the socket buffer). */
export const CSV_CHUNK_EVENTS = 500;

export interface EventsFilter {
  subject?: string;
  meter?: string;
  from: Date;
  to: Date;
  limit: number;
  after?: { time: string; source: string; id: string };
}

export interface ExportedEvent {
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  ingestedAt: string;
  readings: Array<{ meter: string; value: string | null }>;
  data: Record<string, unknown>;
}

export interface EventsPage {
  data: ExportedEvent[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const CSV_COLUMNS = ['time', 'id', 'source', 'type', 'subject', 'meter', 'value', 'ingested_at', 'data'];

/** Stored events, for a customer's finance team to reconcile an invoice line by line. */
@Injectable()
export class EventsExportRepository {
  constructor(@Inject(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  parseFilter(
    params: Record<string, string | string[]>,
    now = new Date(),
    limits: QueryLimits = DEFAULT_QUERY_LIMITS,
  ): { ok: true; filter: EventsFilter } | { ok: false; errors: FieldError[] } {
    const errors: FieldError[] = [];
    for (const name of ['subject', 'meter', 'from', 'to', 'limit', 'cursor']) {
      if (Array.isArray(params[name])) errors.push({ pointer: `/${name}`, detail: 'must be given once' });
    }
    if (errors.length > 0) return { ok: false, errors };
    const one = params as Record<string, string | undefined>;
    const time = (name: string, fallback: Date) => {
      const raw = one[name];
      if (raw === undefined) return fallback;
      const d = new Date(raw);
      if (!RFC3339.test(raw) || Number.isNaN(d.getTime())) errors.push({ pointer: `/${name}`, detail: 'must be an RFC 3339 timestamp' });
      return d;
    };
    const to = time('to', now);
    const from = time('from', new Date(to.getTime() - 31 * 86_400_000));
    if (errors.length === 0) {
      if (from >= to) errors.push({ pointer: '/from', detail: 'must be before to' });
      else {
        const tooLong = rangeProblem(from, to, limits);
        if (tooLong) errors.push(tooLong);
      }
    }
    const limit = one.limit === undefined ? 100 : Number(one.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) errors.push({ pointer: '/limit', detail: 'must be an integer from 1 to 1000' });
    let after: EventsFilter['after'];
    if (one.cursor) {
      after = parseCursor(one.cursor) ?? undefined;
      if (!after) errors.push({ pointer: '/cursor', detail: 'is not a cursor this API returned' });
    }
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, filter: { subject: one.subject, meter: one.meter, from, to, limit, after } };
  }

  async page(tenant: string, filter: EventsFilter): Promise<EventsPage> {
    const rows = await this.fetch(tenant, filter, filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => r.event),
      nextCursor: rows.length > filter.limit && last ? Buffer.from(JSON.stringify(last.key)).toString('base64url') : null,
    };
  }

  /**
   * Every matching event, one CSV line per (event, meter reading). Keyset-paged reads of CSV_CHUNK_EVENTS
   * events, each its own short statement: the next read happens only when the caller asks for the next
   * chunk (after the client took the previous one), so a slow client holds neither rows in memory nor a
   * connection nor an open transaction; one that goes away ends the export at the next chunk.
   */
  async *csv(tenant: string, filter: EventsFilter): AsyncGenerator<string> {
    // The header goes out with the first chunk: a failure of the first read is still answered as a problem.
    let header = `${CSV_COLUMNS.join(',')}\n`;
    let after = filter.after;
    for (;;) {
      const rows = await this.fetch(tenant, { ...filter, after }, CSV_CHUNK_EVENTS);
      exportedEventRows.inc(rows.length);
      if (rows.length === 0) {
        if (header) yield header;
        return;
      }
      yield header + rows
        .map((r) => r.event)
        .flatMap((e) =>
          e.readings
            .filter((r) => !filter.meter || r.meter === filter.meter)
            .map((r) => [e.time, e.id, e.source, e.type, e.subject, r.meter, r.value ?? '', e.ingestedAt, JSON.stringify(e.data)].map(csvField).join(',')),
        )
        .map((line) => `${line}\n`)
        .join('');
      header = '';
      if (rows.length < CSV_CHUNK_EVENTS) return;
      after = rows[rows.length - 1].key;
    }
  }

  /**
   * One keyset page. The key keeps the ledger's microseconds: a key cut to milliseconds would re-read (and
   * with enough events inside one millisecond, loop over) the events after it within that millisecond.
   */
  private async fetch(tenant: string, f: EventsFilter, limit: number): Promise<Array<{ event: ExportedEvent; key: NonNullable<EventsFilter['after']> }>> {
    const params: unknown[] = [tenant, f.from.toISOString(), f.to.toISOString(), limit];
    const where: string[] = [];
    if (f.subject) where.push(`subject = $${params.push(f.subject)}`);
    if (f.meter) where.push(`readings @> $${params.push(JSON.stringify([{ meter: f.meter }]))}::jsonb`);
    if (f.after) {
      where.push(`(time, source, event_id) > ($${params.push(f.after.time)}::timestamptz, $${params.push(f.after.source)}, $${params.push(f.after.id)})`);
    }
    const rows: Array<{
      event_id: string;
      source: string;
      type: string;
      subject: string;
      time: Date;
      time_key: string;
      ingested_at: Date;
      readings: ExportedEvent['readings'];
      data: Record<string, unknown>;
    }> =
      await this.dataSource.query(
        `SELECT event_id, source, type, subject, time, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time_key,
                ingested_at, readings, data FROM ${schemaOf(this.dataSource)}.event_ledger
         WHERE tenant = $1 AND time >= $2::timestamptz AND time < $3::timestamptz ${where.map((w) => `AND ${w}`).join(' ')}
         ORDER BY time, source, event_id LIMIT $4`,
        params,
      );
    return rows.map((r) => ({
      event: {
        id: r.event_id,
        source: r.source,
        type: r.type,
        subject: r.subject,
        time: r.time.toISOString(),
        ingestedAt: r.ingested_at.toISOString(),
        readings: r.readings.map((x) => ({ meter: x.meter, value: x.value })),
        data: r.data,
      },
      key: { time: r.time_key, source: r.source, id: r.event_id },
    }));
  }
}

/** A cursor this API returned, or null: anything else would reach SQL as a bad timestamp (a 500). */
function parseCursor(cursor: string): EventsFilter['after'] | null {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof c.time !== 'string' || typeof c.source !== 'string' || typeof c.id !== 'string') return null;
    if (!RFC3339.test(c.time) || Number.isNaN(Date.parse(c.time))) return null;
    return { time: c.time, source: c.source, id: c.id };
  } catch {
    return null;
  }
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
