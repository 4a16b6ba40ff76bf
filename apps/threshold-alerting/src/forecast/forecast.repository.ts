import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { PlanChanged, UsageAggregate } from '@tally/contracts';
import { newestAggregates, type HasAggregate } from '@tally/period-usage';
import { schemaOf } from '@tally/postgres';
import { DAY_MS, FORECAST_HISTORY_DAYS, type DayUsage } from '../domain/usage-forecast';
import type { PlanTerms } from '../domain/upgrade-recommendation';
import { customerMeterId, type CustomerMeter } from '../entitlements/threshold-state.repository';

/** The DAY aggregates of a batch, newest version per (customer, meter, day). */
export function newestDayAggregates<M extends HasAggregate>(messages: M[]): M[] {
  return newestAggregates(messages, 'DAY');
}

/** What the upgrade recommendation of one customer-meter needs: the current plan, the tenant's plans, the subscription's usage. */
export interface RecommendationInputs {
  current: PlanTerms;
  plans: PlanTerms[];
  /** Usage of each meter of the same subscription in its period. */
  meters: Array<{ meter: string; usage: string }>;
}

interface PlanRow {
  tenant: string;
  plan_code: string;
  currency: string;
  interval: string;
  base_fee: string;
  charges: PlanTerms['charges'];
}

/** The DAY usage the forecast reads and the plans the upgrade recommendation prices, in threshold-alerting's schema. */
@Injectable()
export class ForecastRepository {
  /** Applies DAY aggregates; one older than the version held is ignored (idempotent and reorder-safe, a lower newer value wins). */
  async applyDayUsage(manager: EntityManager, aggregates: UsageAggregate[]): Promise<void> {
    if (aggregates.length === 0) return;
    const s = schemaOf(manager.connection);
    await manager.query(
      `INSERT INTO ${s}.day_usage AS d (tenant, customer, meter, day_start, day_end, value, version)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::bigint[])
       ON CONFLICT (tenant, customer, meter, day_start)
       DO UPDATE SET day_end = excluded.day_end, value = excluded.value, version = excluded.version
       WHERE d.version < excluded.version`,
      [
        aggregates.map((a) => a.tenant),
        aggregates.map((a) => a.customer),
        aggregates.map((a) => a.meter),
        aggregates.map((a) => a.windowStart),
        aggregates.map((a) => a.windowEnd),
        aggregates.map((a) => a.value),
        aggregates.map((a) => a.version),
      ],
    );
    // Days before the forecast's history window are never read again: keep the table to about a month per meter.
    const horizon = new Date(Date.now() - (FORECAST_HISTORY_DAYS + 2) * DAY_MS);
    await manager.query(
      `DELETE FROM ${s}.day_usage d USING (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[])) AS k(tenant, customer, meter)
       WHERE (d.tenant, d.customer, d.meter) = (k.tenant, k.customer, k.meter) AND d.day_start < $4`,
      [aggregates.map((a) => a.tenant), aggregates.map((a) => a.customer), aggregates.map((a) => a.meter), horizon],
    );
  }

  /** The DAY usage of the customer-meters that started within the forecast's history window before `nowMs`, by customerMeterId. */
  async recentDays(manager: EntityManager, keys: CustomerMeter[], nowMs: number): Promise<Map<string, DayUsage[]>> {
    const out = new Map<string, DayUsage[]>();
    if (keys.length === 0) return out;
    const rows: Array<CustomerMeter & { day_start: Date; day_end: Date; value: string }> = await manager.query(
      `SELECT d.tenant, d.customer, d.meter, d.day_start, d.day_end, d.value::text AS value
       FROM ${schemaOf(manager.connection)}.day_usage d
       JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[])) AS k(tenant, customer, meter)
         ON (d.tenant, d.customer, d.meter) = (k.tenant, k.customer, k.meter)
       WHERE d.day_start >= $4`,
      [keys.map((k) => k.tenant), keys.map((k) => k.customer), keys.map((k) => k.meter), new Date(nowMs - FORECAST_HISTORY_DAYS * DAY_MS)],
    );
    for (const r of rows) {
      const id = customerMeterId(r);
      const list = out.get(id) ?? [];
      list.push({ startMs: r.day_start.getTime(), endMs: r.day_end.getTime(), value: r.value });
      out.set(id, list);
    }
    return out;
  }

  /** Keeps the highest version of each plan (a redelivered or older message changes nothing). */
  async applyPlans(manager: EntityManager, plans: PlanChanged[]): Promise<void> {
    const newest = new Map<string, PlanChanged>();
    for (const p of plans) {
      const id = `${p.tenant}\u0000${p.planCode}`;
      const held = newest.get(id);
      if (!held || held.version < p.version) newest.set(id, p);
    }
    const rows = [...newest.values()];
    if (rows.length === 0) return;
    await manager.query(
      `INSERT INTO ${schemaOf(manager.connection)}.plans AS p (tenant, plan_code, version, currency, interval, base_fee, charges)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::numeric[], $7::jsonb[])
       ON CONFLICT (tenant, plan_code) DO UPDATE SET version = excluded.version, currency = excluded.currency, interval = excluded.interval,
         base_fee = excluded.base_fee, charges = excluded.charges
       WHERE p.version < excluded.version`,
      [
        rows.map((p) => p.tenant),
        rows.map((p) => p.planCode),
        rows.map((p) => p.version),
        rows.map((p) => p.currency),
        rows.map((p) => p.interval),
        rows.map((p) => p.baseFee),
        rows.map((p) => JSON.stringify(p.charges)),
      ],
    );
  }

  /**
   * For each customer-meter whose entitlement names a plan alerting knows: that plan, the tenant's plans and
   * the usage of every meter of the same subscription in the entitlement's period (by customerMeterId).
   */
  async recommendationInputs(manager: EntityManager, keys: CustomerMeter[]): Promise<Map<string, RecommendationInputs>> {
    const out = new Map<string, RecommendationInputs>();
    if (keys.length === 0) return out;
    const s = schemaOf(manager.connection);
    const rows: Array<CustomerMeter & { plan: string; meters: Array<{ meter: string; usage: string | null }> }> = await manager.query(
      `SELECT e.tenant, e.customer, e.meter, e.plan,
              (SELECT jsonb_agg(jsonb_build_object('meter', o.meter, 'usage', u.value::text))
               FROM ${s}.entitlements o
               LEFT JOIN ${s}.period_usage u ON (u.tenant, u.customer, u.meter, u.period_start) = (o.tenant, o.customer, o.meter, o.period_start)
               WHERE (o.tenant, o.customer, o.subscription_id) = (e.tenant, e.customer, e.subscription_id)) AS meters
       FROM ${s}.entitlements e
       JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[])) AS k(tenant, customer, meter)
         ON (e.tenant, e.customer, e.meter) = (k.tenant, k.customer, k.meter)
       WHERE e.plan IS NOT NULL`,
      [keys.map((k) => k.tenant), keys.map((k) => k.customer), keys.map((k) => k.meter)],
    );
    if (rows.length === 0) return out;
    const tenants = [...new Set(rows.map((r) => r.tenant))];
    const planRows: PlanRow[] = await manager.query(
      `SELECT tenant, plan_code, currency, interval, base_fee::text AS base_fee, charges FROM ${s}.plans WHERE tenant = ANY($1::text[])`,
      [tenants],
    );
    const byTenant = new Map<string, PlanTerms[]>();
    for (const p of planRows) {
      const list = byTenant.get(p.tenant) ?? [];
      list.push({ code: p.plan_code, currency: p.currency, interval: p.interval, baseFee: p.base_fee, charges: p.charges });
      byTenant.set(p.tenant, list);
    }
    for (const r of rows) {
      const plans = byTenant.get(r.tenant) ?? [];
      const current = plans.find((p) => p.code === r.plan);
      if (!current) continue;
      out.set(customerMeterId(r), { current, plans, meters: r.meters.map((m) => ({ meter: m.meter, usage: m.usage ?? '0' })) });
    }
    return out;
  }
}
