import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { FieldError } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { RFC3339 } from './query-params';

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
  constructor(private readonly dataSource: DataSource) {}

  parseFilter(params: Record<string, string>, now = new Date()): { ok: true; filter: EventsFilter } | { ok: false; errors: FieldError[] } {
    const errors: FieldError[] = [];
    const time = (name: string, fallback: Date) => {
      if (params[name] === undefined) return fallback;
      const d = new Date(params[name]);
      if (!RFC3339.test(params[name]) || Number.isNaN(d.getTime())) errors.push({ pointer: `/${name}`, detail: 'must be an RFC 3339 timestamp' });
      return d;
    };
    const to = time('to', now);
    const from = time('from', new Date(to.getTime() - 31 * 86_400_000));
    const limit = params.limit === undefined ? 100 : Number(params.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) errors.push({ pointer: '/limit', detail: 'must be an integer from 1 to 1000' });
    let after: EventsFilter['after'];
    if (params.cursor) {
      try {
        after = JSON.parse(Buffer.from(params.cursor, 'base64url').toString('utf8'));
      } catch {
        errors.push({ pointer: '/cursor', detail: 'is not a cursor this API returned' });
      }
    }
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, filter: { subject: params.subject, meter: params.meter, from, to, limit, after } };
  }

  async page(tenant: string, filter: EventsFilter): Promise<EventsPage> {
    const rows = await this.fetch(tenant, filter, filter.limit + 1);
    const data = rows.slice(0, filter.limit);
    const last = data[data.length - 1];
    return {
      data,
      nextCursor: rows.length > filter.limit && last ? Buffer.from(JSON.stringify({ time: last.time, source: last.source, id: last.id })).toString('base64url') : null,
    };
  }

  /** Every matching event, one CSV line per (event, meter reading), fetched in chunks. */
  async *csv(tenant: string, filter: EventsFilter): AsyncGenerator<string> {
    yield `${CSV_COLUMNS.join(',')}\n`;
    let after = filter.after;
    for (;;) {
      const rows = await this.fetch(tenant, { ...filter, after }, 5000);
      if (rows.length === 0) return;
      yield rows
        .flatMap((e) =>
          e.readings
            .filter((r) => !filter.meter || r.meter === filter.meter)
            .map((r) => [e.time, e.id, e.source, e.type, e.subject, r.meter, r.value ?? '', e.ingestedAt, JSON.stringify(e.data)].map(csvField).join(',')),
        )
        .map((line) => `${line}\n`)
        .join('');
      const last = rows[rows.length - 1];
      after = { time: last.time, source: last.source, id: last.id };
    }
  }

  private async fetch(tenant: string, f: EventsFilter, limit: number): Promise<ExportedEvent[]> {
    const params: unknown[] = [tenant, f.from.toISOString(), f.to.toISOString(), limit];
    const where: string[] = [];
    if (f.subject) where.push(`subject = $${params.push(f.subject)}`);
    if (f.meter) where.push(`readings @> $${params.push(JSON.stringify([{ meter: f.meter }]))}::jsonb`);
    if (f.after) {
      where.push(`(time, source, event_id) > ($${params.push(f.after.time)}::timestamptz, $${params.push(f.after.source)}, $${params.push(f.after.id)})`);
    }
    const rows: Array<{ event_id: string; source: string; type: string; subject: string; time: Date; ingested_at: Date; readings: ExportedEvent['readings']; data: Record<string, unknown> }> =
      await this.dataSource.query(
        `SELECT event_id, source, type, subject, time, ingested_at, readings, data FROM ${schemaOf(this.dataSource)}.event_ledger
         WHERE tenant = $1 AND time >= $2::timestamptz AND time < $3::timestamptz ${where.map((w) => `AND ${w}`).join(' ')}
         ORDER BY time, source, event_id LIMIT $4`,
        params,
      );
    return rows.map((r) => ({
      id: r.event_id,
      source: r.source,
      type: r.type,
      subject: r.subject,
      time: r.time.toISOString(),
      ingestedAt: r.ingested_at.toISOString(),
      readings: r.readings.map((x) => ({ meter: x.meter, value: x.value })),
      data: r.data,
    }));
  }
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
