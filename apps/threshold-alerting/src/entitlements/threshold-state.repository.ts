import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { SubscriptionChanged } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { CrossedThreshold } from '../domain/threshold-evaluator';

export interface CustomerMeter {
  tenant: string;
  customer: string;
  meter: string;
}

export interface EvaluationRow extends CustomerMeter {
  period_start: Date;
  period_end: Date;
  included: string;
  thresholds: number[];
  hard_limit: boolean;
  usage: string;
  fired: number[];
}

export const customerMeterId = (k: CustomerMeter): string => `${k.tenant}\u0000${k.customer}\u0000${k.meter}`;

@Injectable()
export class ThresholdStateRepository {
  /** Replaces the customers' entitlements with those of their current subscription. */
  async replaceEntitlements(manager: EntityManager, subscriptions: SubscriptionChanged[]): Promise<CustomerMeter[]> {
    const s = schemaOf(manager.connection);
    // One row per customer-meter (its key): if two subscriptions in a batch list the same meter (billing
    // refuses that, but a meter can move between subscriptions across messages), the later one wins rather
    // than the multi-row upsert failing on the same key twice, forever.
    const byMeter = new Map<string, { sub: SubscriptionChanged; e: SubscriptionChanged['entitlements'][number] }>();
    for (const sub of subscriptions) {
      if (sub.status === 'canceled') continue;
      for (const e of sub.entitlements) byMeter.set(customerMeterId({ ...sub, meter: e.meter }), { sub, e });
    }
    const rows = [...byMeter.values()];
    // A customer may hold several subscriptions: each message replaces only its own subscription's rows.
    await manager.query(
      `DELETE FROM ${s}.entitlements WHERE (tenant, customer, subscription_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
      [subscriptions.map((x) => x.tenant), subscriptions.map((x) => x.customer), subscriptions.map((x) => x.subscriptionId)],
    );
    if (rows.length === 0) return [];
    await manager.query(
      `INSERT INTO ${s}.entitlements (tenant, customer, meter, period_start, period_end, included, thresholds, hard_limit, subscription_id)
       SELECT t.tenant, t.customer, t.meter, t.ps, t.pe, t.included, ARRAY(SELECT jsonb_array_elements_text(t.thresholds)::int), t.hard, t.sub
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::jsonb[], $8::boolean[], $9::text[])
         AS t(tenant, customer, meter, ps, pe, included, thresholds, hard, sub)
       ON CONFLICT (tenant, customer, meter) DO UPDATE SET period_start = excluded.period_start, period_end = excluded.period_end,
         included = excluded.included, thresholds = excluded.thresholds, hard_limit = excluded.hard_limit,
         subscription_id = excluded.subscription_id`,
      [
        rows.map((r) => r.sub.tenant),
        rows.map((r) => r.sub.customer),
        rows.map((r) => r.e.meter),
        rows.map((r) => r.sub.periodStart),
        rows.map((r) => r.sub.periodEnd),
        rows.map((r) => r.e.included),
        rows.map((r) => JSON.stringify(r.e.thresholds.map((p) => Math.round(p)))),
        rows.map((r) => r.e.hardLimit),
        rows.map((r) => r.sub.subscriptionId),
      ],
    );
    return rows.map((r) => ({ tenant: r.sub.tenant, customer: r.sub.customer, meter: r.e.meter }));
  }

  /**
   * Serializes the entitlement and usage changes of one customer-meter. Subscriptions and aggregates arrive
   * on different topics, applied by concurrent transactions: without this, each could evaluate before seeing
   * the other's uncommitted write (the entitlement without the usage, the usage without the entitlement) and
   * a crossed threshold would never fire. Per meter, not per customer: a customer's meters are keyed to
   * different partitions, and a customer-wide lock made those batches queue behind each other. Locks are
   * taken in one sorted order, so two batches cannot deadlock.
   */
  async lockCustomerMeters(manager: EntityManager, of: CustomerMeter[]): Promise<void> {
    if (of.length === 0) return;
    const s = schemaOf(manager.connection);
    await manager.query(
      `SELECT pg_advisory_xact_lock(h) FROM (
         SELECT DISTINCT hashtext($1 || ':' || t || ':' || c || ':' || m) AS h FROM unnest($2::text[], $3::text[], $4::text[]) AS x(t, c, m) ORDER BY 1
       ) locks`,
      [s, of.map((k) => k.tenant), of.map((k) => k.customer), of.map((k) => k.meter)],
    );
  }

  /** Entitlement, period usage and already fired thresholds of each customer-meter that has both. */
  async loadForEvaluation(manager: EntityManager, keys: CustomerMeter[]): Promise<EvaluationRow[]> {
    if (keys.length === 0) return [];
    const s = schemaOf(manager.connection);
    return manager.query(
      `SELECT e.tenant, e.customer, e.meter, e.period_start, e.period_end, e.included::text AS included, e.thresholds, e.hard_limit,
              u.value::text AS usage,
              COALESCE(array_agg(f.percent) FILTER (WHERE f.percent IS NOT NULL), '{}') AS fired
       FROM ${s}.entitlements e
       JOIN ${s}.period_usage u ON u.tenant = e.tenant AND u.customer = e.customer AND u.meter = e.meter AND u.period_start = e.period_start
       LEFT JOIN ${s}.fired_thresholds f ON f.tenant = e.tenant AND f.customer = e.customer AND f.meter = e.meter AND f.period_start = e.period_start
       WHERE (e.tenant, e.customer, e.meter) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
       GROUP BY e.tenant, e.customer, e.meter, e.period_start, e.period_end, e.included, e.thresholds, e.hard_limit, u.value`,
      [keys.map((k) => k.tenant), keys.map((k) => k.customer), keys.map((k) => k.meter)],
    );
  }

  /** Records thresholds as fired; returns only those this call fired (a concurrent or repeated call gets none). */
  async markFired(manager: EntityManager, fired: Array<{ row: EvaluationRow; crossed: CrossedThreshold }>): Promise<Set<string>> {
    if (fired.length === 0) return new Set();
    const s = schemaOf(manager.connection);
    const inserted: Array<{ tenant: string; customer: string; meter: string; percent: number }> = await manager.query(
      `INSERT INTO ${s}.fired_thresholds (tenant, customer, meter, period_start, percent, kind, usage)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::text[], $7::numeric[])
       ON CONFLICT DO NOTHING RETURNING tenant, customer, meter, percent`,
      [
        fired.map((f) => f.row.tenant),
        fired.map((f) => f.row.customer),
        fired.map((f) => f.row.meter),
        fired.map((f) => f.row.period_start.toISOString()),
        fired.map((f) => f.crossed.percent),
        fired.map((f) => f.crossed.kind),
        fired.map((f) => f.row.usage),
      ],
    );
    return new Set(inserted.map((r) => `${customerMeterId(r)}\u0000${r.percent}`));
  }
}
