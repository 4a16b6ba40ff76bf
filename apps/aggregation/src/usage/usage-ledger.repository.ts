import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Aggregation, UsageEvent, WindowKind } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import { windowDeltaKey, type WindowDelta } from '../domain/window-deltas';

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
}

/** Set-based SQL only: every statement here handles the whole batch. */
@Injectable()
export class UsageLedgerRepository {
  /** Records the events; returns those not seen before (duplicates are skipped, not counted). */
  async recordNew(manager: EntityManager, events: UsageEvent[]): Promise<UsageEvent[]> {
    if (events.length === 0) return [];
    const s = schemaOf(manager.connection);
    const inserted: Array<{ tenant: string; source: string; event_id: string }> = await manager.query(
      `INSERT INTO ${s}.event_ledger (tenant, source, event_id, subject, type, time, readings, data)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[], $8::jsonb[])
       ON CONFLICT (tenant, source, event_id) DO NOTHING
       RETURNING tenant, source, event_id`,
      [
        events.map((e) => e.tenant),
        events.map((e) => e.source),
        events.map((e) => e.id),
        events.map((e) => e.subject),
        events.map((e) => e.type),
        events.map((e) => e.time),
        events.map((e) => JSON.stringify(e.readings)),
        events.map((e) => JSON.stringify(e.data)),
      ],
    );
    const fresh = new Set(inserted.map((r) => `${r.tenant}\u0000${r.source}\u0000${r.event_id}`));
    return events.filter((e) => fresh.delete(`${e.tenant}\u0000${e.source}\u0000${e.id}`));
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
         sum_value, event_count, min_value, max_value, latest_value, latest_time, distinct_count, last_event_time, version)
       SELECT t.*, 1 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[],
         $8::numeric[], $9::bigint[], $10::numeric[], $11::numeric[], $12::numeric[], $13::timestamptz[], $14::bigint[], $15::timestamptz[]) AS t
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
         version = w.version + 1
       RETURNING tenant, customer, meter, window_kind, window_start, window_end, aggregation, sum_value::text, event_count::text,
         min_value::text, max_value::text, latest_value::text, distinct_count::text, last_event_time, version::text`,
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
      ],
    );
  }
}
