import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Decimal } from 'decimal.js';
import type { EntitlementAlerts, SubscriptionChanged } from '@tally/contracts';
import { lockKeys, schemaOf } from '@tally/postgres';
import type { PlanCharge } from '../domain/charge-cost';
import type { FiredThreshold, Threshold } from '../domain/threshold-evaluator';

export interface CustomerMeter {
  tenant: string;
  customer: string;
  meter: string;
}

/** One customer-meter as alerting has applied it: its entitlement (if any) and the usage of the period it looks at. */
export interface CustomerMeterState extends CustomerMeter {
  entitlement: {
    periodStart: Date;
    periodEnd: Date;
    included: string;
    thresholds: string[];
    hardLimit: boolean;
    alerts: EntitlementAlerts;
    charge: PlanCharge | null;
    currency: string | null;
  } | null;
  /** The PERIOD usage of the entitlement's period or, without an entitlement, of the latest period seen. */
  usage: { periodStart: Date; periodEnd: Date; value: string } | null;
  /** Thresholds fired in the entitlement's period, by id. */
  fired: Map<string, FiredThreshold>;
}

export const customerMeterId = (k: CustomerMeter): string => `${k.tenant}\u0000${k.customer}\u0000${k.meter}`;
export const firedKey = (k: CustomerMeter, thresholdId: string): string => `${customerMeterId(k)}\u0000${thresholdId}`;

/** A percentage as one canonical decimal (33.3, "33.3" and "33.30" are the same threshold). */
const canonicalPercent = (p: number | string): string => new Decimal(typeof p === 'number' ? String(p) : p).toFixed();

interface StateRow {
  tenant: string;
  customer: string;
  meter: string;
  period_start: Date | null;
  period_end: Date | null;
  included: string | null;
  thresholds: string[] | null;
  hard_limit: boolean | null;
  alerts: EntitlementAlerts | null;
  charge: PlanCharge | null;
  currency: string | null;
  usage_period_start: Date | null;
  usage_period_end: Date | null;
  usage: string | null;
  fired: Array<{ threshold: string; generation: number; active: boolean }>;
}

@Injectable()
export class ThresholdStateRepository {
  /** The customer-meters the given subscriptions entitle now (before they are replaced). */
  async entitledBy(manager: EntityManager, subscriptions: SubscriptionChanged[]): Promise<CustomerMeter[]> {
    if (subscriptions.length === 0) return [];
    return manager.query(
      `SELECT tenant, customer, meter FROM ${schemaOf(manager.connection)}.entitlements
       WHERE (tenant, customer, subscription_id) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
      [subscriptions.map((x) => x.tenant), subscriptions.map((x) => x.customer), subscriptions.map((x) => x.subscriptionId)],
    );
  }

  /** Replaces the subscriptions' entitlements with their current ones; returns the customer-meters entitled now. */
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
      `INSERT INTO ${s}.entitlements (tenant, customer, meter, period_start, period_end, included, thresholds, hard_limit, subscription_id, alerts, charge, currency, plan)
       SELECT t.tenant, t.customer, t.meter, t.ps, t.pe, t.included, ARRAY(SELECT jsonb_array_elements_text(t.thresholds)::numeric), t.hard, t.sub,
              t.alerts, t.charge, t.currency, t.plan
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::jsonb[], $8::boolean[], $9::text[],
                   $10::jsonb[], $11::jsonb[], $12::text[], $13::text[])
         AS t(tenant, customer, meter, ps, pe, included, thresholds, hard, sub, alerts, charge, currency, plan)
       ON CONFLICT (tenant, customer, meter) DO UPDATE SET period_start = excluded.period_start, period_end = excluded.period_end,
         included = excluded.included, thresholds = excluded.thresholds, hard_limit = excluded.hard_limit,
         subscription_id = excluded.subscription_id, alerts = excluded.alerts, charge = excluded.charge, currency = excluded.currency,
         plan = excluded.plan`,
      [
        rows.map((r) => r.sub.tenant),
        rows.map((r) => r.sub.customer),
        rows.map((r) => r.e.meter),
        rows.map((r) => r.sub.periodStart),
        rows.map((r) => r.sub.periodEnd),
        rows.map((r) => r.e.included),
        // Canonical decimal strings: never rounded (33.3 stays 33.3), one spelling per threshold.
        rows.map((r) => JSON.stringify([...new Set(r.e.thresholds.map(canonicalPercent))])),
        rows.map((r) => r.e.hardLimit),
        rows.map((r) => r.sub.subscriptionId),
        rows.map((r) => JSON.stringify(r.e.alerts ?? {})),
        rows.map((r) => (r.e.charge ? JSON.stringify(r.e.charge) : null)),
        rows.map((r) => r.sub.currency ?? null),
        rows.map((r) => r.sub.plan),
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
   * taken in one sorted order, so two batches cannot deadlock. A batch of more customer-meters than the lock
   * table can hold locks them all at once (lockKeys).
   */
  async lockCustomerMeters(manager: EntityManager, of: CustomerMeter[]): Promise<void> {
    await lockKeys(manager, `${schemaOf(manager.connection)}.customer-meters`, of.map((k) => `${k.tenant}:${k.customer}:${k.meter}`));
  }

  /**
   * A number greater than that of every transaction that held one of the locks this transaction holds now
   * (a sequence is not rolled back and never goes back): taken after the locks, it orders this
   * transaction's view of its customer-meters after every earlier one's, for the in-memory projection.
   */
  async nextRevision(manager: EntityManager): Promise<number> {
    const [row] = await manager.query(`SELECT nextval('${schemaOf(manager.connection)}.projection_revision')::text AS r`);
    return Number(row.r);
  }

  /** The state of the given customer-meters (one entry each, also those without entitlement or usage). */
  async loadState(manager: EntityManager, keys: CustomerMeter[]): Promise<CustomerMeterState[]> {
    if (keys.length === 0) return [];
    const s = schemaOf(manager.connection);
    const rows: StateRow[] = await manager.query(
      `${stateQuery(s, 'SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, customer, meter)', true)}`,
      [keys.map((k) => k.tenant), keys.map((k) => k.customer), keys.map((k) => k.meter)],
    );
    return rows.map(toState);
  }

  /** Every customer-meter with an entitlement or usage: the start of the in-memory projection. */
  async loadAll(manager: EntityManager): Promise<CustomerMeterState[]> {
    const s = schemaOf(manager.connection);
    const rows: StateRow[] = await manager.query(
      stateQuery(s, `SELECT tenant, customer, meter FROM ${s}.entitlements UNION SELECT tenant, customer, meter FROM ${s}.period_usage`, false),
    );
    return rows.map(toState);
  }

  /**
   * Records thresholds as fired: new, or again after they recovered (generation + 1). Returns the generation of
   * each threshold this call fired, by `firedKey`; a threshold still active is not fired again (none returned).
   */
  async markFired(manager: EntityManager, fired: Array<{ state: CustomerMeterState; threshold: Pick<Threshold, 'id'> & { kind: string } }>): Promise<Map<string, number>> {
    if (fired.length === 0) return new Map();
    const s = schemaOf(manager.connection);
    const inserted: Array<CustomerMeter & { threshold: string; generation: number }> = await manager.query(
      `INSERT INTO ${s}.fired_thresholds AS f (tenant, customer, meter, period_start, threshold, kind, usage)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::numeric[])
       ON CONFLICT (tenant, customer, meter, period_start, threshold) DO UPDATE
         SET generation = f.generation + 1, recovered_at = NULL, kind = excluded.kind, usage = excluded.usage, fired_at = now()
         WHERE f.recovered_at IS NOT NULL
       RETURNING tenant, customer, meter, threshold, generation`,
      [
        fired.map((f) => f.state.tenant),
        fired.map((f) => f.state.customer),
        fired.map((f) => f.state.meter),
        fired.map((f) => f.state.entitlement!.periodStart.toISOString()),
        fired.map((f) => f.threshold.id),
        fired.map((f) => f.threshold.kind),
        fired.map((f) => f.state.usage?.value ?? '0'),
      ],
    );
    return new Map(inserted.map((r) => [firedKey(r, r.threshold), r.generation]));
  }

  /** Re-arms active thresholds; returns the generation that recovered, by `firedKey` (none for one already re-armed). */
  async markRecovered(manager: EntityManager, recovered: Array<{ state: CustomerMeterState; threshold: Pick<Threshold, 'id'> }>): Promise<Map<string, number>> {
    if (recovered.length === 0) return new Map();
    const s = schemaOf(manager.connection);
    // TypeORM answers an UPDATE … RETURNING on Postgres with [rows, affected count].
    const [updated]: [Array<CustomerMeter & { threshold: string; generation: number }>, number] = await manager.query(
      `UPDATE ${s}.fired_thresholds f SET recovered_at = now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS r(tenant, customer, meter, period_start, threshold)
       WHERE (f.tenant, f.customer, f.meter, f.period_start, f.threshold) = (r.tenant, r.customer, r.meter, r.period_start, r.threshold)
         AND f.recovered_at IS NULL
       RETURNING f.tenant, f.customer, f.meter, f.threshold, f.generation`,
      [
        recovered.map((f) => f.state.tenant),
        recovered.map((f) => f.state.customer),
        recovered.map((f) => f.state.meter),
        recovered.map((f) => f.state.entitlement!.periodStart.toISOString()),
        recovered.map((f) => f.threshold.id),
      ],
    );
    return new Map(updated.map((r) => [firedKey(r, r.threshold), r.generation]));
  }
}

/**
 * Entitlement, usage and fired thresholds of the customer-meters `keys` selects. Usage is that of the
 * entitlement's period; without an entitlement, of the latest period the meter has usage in.
 */
function stateQuery(s: string, keys: string, withFired: boolean): string {
  return `
    WITH k AS (${keys})
    SELECT k.tenant, k.customer, k.meter, e.period_start, e.period_end, e.included::text AS included, e.thresholds::text[] AS thresholds,
           e.hard_limit, e.alerts, e.charge, e.currency,
           u.period_start AS usage_period_start, u.period_end AS usage_period_end, u.value::text AS usage,
           ${
             withFired
               ? `COALESCE((SELECT jsonb_agg(jsonb_build_object('threshold', f.threshold, 'generation', f.generation, 'active', f.recovered_at IS NULL))
                   FROM ${s}.fired_thresholds f
                   WHERE f.tenant = k.tenant AND f.customer = k.customer AND f.meter = k.meter AND f.period_start = e.period_start), '[]')`
               : `'[]'::jsonb`
           } AS fired
    FROM k
    LEFT JOIN ${s}.entitlements e ON e.tenant = k.tenant AND e.customer = k.customer AND e.meter = k.meter
    LEFT JOIN LATERAL (
      SELECT p.period_start, p.period_end, p.value FROM ${s}.period_usage p
      WHERE p.tenant = k.tenant AND p.customer = k.customer AND p.meter = k.meter AND (e.period_start IS NULL OR p.period_start = e.period_start)
      ORDER BY p.period_start DESC LIMIT 1
    ) u ON true`;
}

function toState(r: StateRow): CustomerMeterState {
  return {
    tenant: r.tenant,
    customer: r.customer,
    meter: r.meter,
    entitlement:
      r.period_start === null
        ? null
        : {
            periodStart: r.period_start,
            periodEnd: r.period_end!,
            included: r.included!,
            thresholds: r.thresholds ?? [],
            hardLimit: r.hard_limit === true,
            alerts: r.alerts ?? {},
            charge: r.charge,
            currency: r.currency,
          },
    usage: r.usage === null ? null : { periodStart: r.usage_period_start!, periodEnd: r.usage_period_end!, value: r.usage },
    fired: new Map(r.fired.map((f) => [f.threshold, { generation: f.generation, active: f.active }])),
  };
}
