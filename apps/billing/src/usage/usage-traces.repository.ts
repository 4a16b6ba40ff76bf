import type { EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import { keptUsageTraces, type TimedUsageTrace } from '../domain/usage-trace';

export interface AppliedAggregateTrace {
  tenant: string;
  customer: string;
  meter: string;
  periodStart: string;
  version: number;
  trace: TimedUsageTrace;
}

export interface PeriodKey {
  tenant: string;
  subscription_id: string;
  period_start: Date;
}

/** The trace contexts kept with billing's period usage (migration 1732400000492, domain/usage-trace.ts). */
export class UsageTracesRepository {
  /**
   * Adds each aggregate's trace context to its period usage row (domain/usage-trace.ts keeps the last few), only
   * where the row holds that very version: an older aggregate, redelivered or reordered, adds nothing. The rows
   * are the ones the batch just upserted, so its transaction already holds their locks.
   */
  async record(m: EntityManager, applied: AppliedAggregateTrace[]): Promise<void> {
    if (applied.length === 0) return;
    const s = schemaOf(m.connection);
    const held: Array<{ tenant: string; customer: string; meter: string; period_start: Date; traces: unknown }> = await m.query(
      `SELECT u.tenant, u.customer, u.meter, u.period_start, u.traces FROM ${s}.period_usage u
       JOIN unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[]) AS t(tenant, customer, meter, period_start, version)
         ON u.tenant = t.tenant AND u.customer = t.customer AND u.meter = t.meter AND u.period_start = t.period_start AND u.version = t.version`,
      [applied.map((a) => a.tenant), applied.map((a) => a.customer), applied.map((a) => a.meter), applied.map((a) => a.periodStart), applied.map((a) => a.version)],
    );
    const key = (tenant: string, customer: string, meter: string, periodStart: Date) => `${tenant}\u0000${customer}\u0000${meter}\u0000${periodStart.getTime()}`;
    const heldBy = new Map(held.map((h) => [key(h.tenant, h.customer, h.meter, h.period_start), h.traces]));
    const updates = applied.flatMap((a) => {
      const k = key(a.tenant, a.customer, a.meter, new Date(a.periodStart));
      return heldBy.has(k) ? [{ ...a, traces: keptUsageTraces(heldBy.get(k), a.trace) }] : [];
    });
    if (updates.length === 0) return;
    await m.query(
      `UPDATE ${s}.period_usage u SET traces = t.traces
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[]) AS t(tenant, customer, meter, period_start, traces)
       WHERE u.tenant = t.tenant AND u.customer = t.customer AND u.meter = t.meter AND u.period_start = t.period_start`,
      [updates.map((u) => u.tenant), updates.map((u) => u.customer), updates.map((u) => u.meter), updates.map((u) => u.periodStart), updates.map((u) => JSON.stringify(u.traces))],
    );
  }

  /** The kept contexts of each period's usage rows, by periodTraceKey. */
  async ofPeriods(m: EntityManager, periods: readonly PeriodKey[]): Promise<Map<string, Array<{ meter: string; traces: unknown }>>> {
    const out = new Map<string, Array<{ meter: string; traces: unknown }>>();
    if (periods.length === 0) return out;
    const s = schemaOf(m.connection);
    const rows: Array<PeriodKey & { meter: string; traces: unknown }> = await m.query(
      `SELECT bp.tenant, bp.subscription_id, bp.period_start, pu.meter, pu.traces
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(tenant, subscription_id, period_start)
       JOIN ${s}.billing_periods bp ON bp.tenant = k.tenant AND bp.subscription_id = k.subscription_id AND bp.period_start = k.period_start
       JOIN ${s}.period_usage pu ON pu.tenant = bp.tenant AND pu.customer = bp.customer AND pu.period_start = bp.period_start
       WHERE pu.traces IS NOT NULL`,
      [periods.map((p) => p.tenant), periods.map((p) => p.subscription_id), periods.map((p) => p.period_start)],
    );
    for (const r of rows) {
      const key = periodTraceKey(r);
      out.set(key, [...(out.get(key) ?? []), { meter: r.meter, traces: r.traces }]);
    }
    return out;
  }
}

export const periodTraceKey = (p: PeriodKey): string => `${p.tenant}\u0000${p.subscription_id}\u0000${p.period_start.toISOString()}`;
