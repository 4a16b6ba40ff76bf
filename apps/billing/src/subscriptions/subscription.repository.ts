import type { EntityManager } from 'typeorm';
import type { Entitlement } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { PlanDefinition } from '../catalog/plan-definition';
import type { BillingTime, Period, PeriodRule } from '../domain/billing-periods';
import { pausedMsAfter, periodRuleOf as lifecyclePeriodRule, type PlanChangeRecord, type Sibling, type Subscription } from '../domain/subscription-lifecycle';

export interface SubscriptionRow {
  tenant: string;
  subscription_id: string;
  customer: string;
  plan: string;
  plan_version: number;
  status: 'active' | 'paused' | 'canceled';
  period_start: Date;
  period_end: Date;
  currency: string;
  billing_time: BillingTime;
  started_at: Date;
  cancel_at_period_end: boolean;
  ended_at: Date | null;
  entitlements: Entitlement[];
  timezone: string;
  interval: 'monthly' | 'yearly';
  /** The plan version's definition (joined). */
  definition: PlanDefinition;
}

export const toSubscription = (row: SubscriptionRow): Subscription => ({
  tenant: row.tenant,
  subscriptionId: row.subscription_id,
  customer: row.customer,
  plan: row.plan,
  planVersion: row.plan_version,
  status: row.status,
  periodStart: row.period_start,
  periodEnd: row.period_end,
  currency: row.currency,
  billingTime: row.billing_time,
  startedAt: row.started_at,
  cancelAtPeriodEnd: row.cancel_at_period_end,
  timeZone: row.timezone,
  interval: row.interval,
  definition: row.definition,
});

/** The period rule of a stored row (invoices cut their nominal periods with it). */
export const periodRuleOf = (row: Pick<SubscriptionRow, 'billing_time' | 'interval' | 'started_at' | 'timezone'>): PeriodRule =>
  lifecyclePeriodRule({ billingTime: row.billing_time, interval: row.interval, startedAt: row.started_at, timeZone: row.timezone });

export interface NewSubscription {
  tenant: string;
  id: string;
  customer: string;
  plan: string;
  planVersion: number;
  currency: string;
  billingTime: BillingTime;
  startedAt: Date;
  period: Period;
  entitlements: Entitlement[];
}

/**
 * The SQL of subscriptions and their billing periods, nothing decided here: every method runs in the
 * caller's transaction (`m`). Stateless, so the service holds one without dependency injection.
 */
export class SubscriptionRepository {
  private selectRows(m: EntityManager): string {
    const s = schemaOf(m.connection);
    return `SELECT s.*, c.timezone, p.definition ->> 'interval' AS interval, p.definition FROM ${s}.subscriptions s
      JOIN ${s}.customers c ON c.tenant = s.tenant AND c.customer_id = s.customer
      JOIN ${s}.plans p ON p.tenant = s.tenant AND p.code = s.plan AND p.version = s.plan_version`;
  }

  async row(m: EntityManager, tenant: string, id: string): Promise<SubscriptionRow | null> {
    const [row] = await m.query(`${this.selectRows(m)} WHERE s.tenant = $1 AND s.subscription_id = $2`, [tenant, id]);
    return row ?? null;
  }

  async ofCustomer(m: EntityManager, tenant: string, customer: string): Promise<SubscriptionRow[]> {
    return m.query(`${this.selectRows(m)} WHERE s.tenant = $1 AND s.customer = $2 ORDER BY s.created_at`, [tenant, customer]);
  }

  /** The customer's other live subscriptions, for the beside-check. */
  async siblings(m: EntityManager, tenant: string, customer: string, except?: string): Promise<Sibling[]> {
    const rows: SubscriptionRow[] = await m.query(
      `${this.selectRows(m)} WHERE s.tenant = $1 AND s.customer = $2 AND s.status <> 'canceled' AND s.subscription_id <> $3`,
      [tenant, customer, except ?? ''],
    );
    return rows.map((r) => ({ subscriptionId: r.subscription_id, meters: r.definition.charges.map((c) => c.meter), periodStart: r.period_start, periodEnd: r.period_end }));
  }

  /** Serializes a customer's creates (taken before the existence check, so a concurrent retry finds the first). */
  async lockCustomer(m: EntityManager, tenant: string, customer: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${schemaOf(m.connection)}:customer:${tenant}:${customer}`]);
  }

  /** Locks the subscription's row for a change; false when there is none. */
  async lock(m: EntityManager, tenant: string, id: string): Promise<boolean> {
    const [locked] = await m.query(`SELECT 1 FROM ${schemaOf(m.connection)}.subscriptions WHERE tenant = $1 AND subscription_id = $2 FOR UPDATE`, [tenant, id]);
    return Boolean(locked);
  }

  /** Locks the subscription if its period is due at `now` and no other instance holds it. */
  async lockDue(m: EntityManager, tenant: string, id: string, now: Date): Promise<boolean> {
    const [due] = await m.query(
      `SELECT subscription_id FROM ${schemaOf(m.connection)}.subscriptions WHERE tenant = $1 AND subscription_id = $2 AND status IN ('active', 'paused') AND period_end <= $3
       FOR UPDATE SKIP LOCKED`,
      [tenant, id, now],
    );
    return Boolean(due);
  }

  async due(m: EntityManager, now: Date): Promise<Array<{ tenant: string; subscription_id: string }>> {
    return m.query(
      `SELECT tenant, subscription_id FROM ${schemaOf(m.connection)}.subscriptions WHERE status IN ('active', 'paused') AND period_end <= $1 ORDER BY period_end`,
      [now],
    );
  }

  async insert(m: EntityManager, n: NewSubscription): Promise<void> {
    const s = schemaOf(m.connection);
    await m.query(
      `INSERT INTO ${s}.subscriptions (tenant, subscription_id, customer, plan, plan_version, status, period_start, period_end, entitlements,
         currency, billing_time, started_at)
       VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11)`,
      [n.tenant, n.id, n.customer, n.plan, n.planVersion, n.period.start, n.period.end, JSON.stringify(n.entitlements), n.currency, n.billingTime, n.startedAt],
    );
    await this.insertPeriod(m, { tenant: n.tenant, id: n.id, customer: n.customer, plan: n.plan, planVersion: n.planVersion }, n.period, null);
  }

  /** A billing period of the subscription (nothing when it exists: a roll retried after its commit). */
  async insertPeriod(m: EntityManager, sub: { tenant: string; id: string; customer: string; plan: string; planVersion: number }, period: Period, pausedAt: Date | null): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.billing_periods (tenant, subscription_id, period_start, period_end, customer, plan_code, plan_version, active_from, paused_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $8) ON CONFLICT DO NOTHING`,
      [sub.tenant, sub.id, period.start, period.end, sub.customer, sub.plan, sub.planVersion, pausedAt],
    );
  }

  /** Whether the period already changed plan, its row locked so two changes cannot both see "no". */
  async periodPlanChanged(m: EntityManager, tenant: string, id: string, periodStart: Date): Promise<boolean> {
    const [period] = await m.query(
      `SELECT plan_change FROM ${schemaOf(m.connection)}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE`,
      [tenant, id, periodStart],
    );
    return Boolean(period?.plan_change);
  }

  async changePlan(m: EntityManager, tenant: string, id: string, periodStart: Date, plan: { code: string; version: number }, record: PlanChangeRecord, entitlements: Entitlement[]): Promise<void> {
    const s = schemaOf(m.connection);
    await m.query(
      `UPDATE ${s}.billing_periods SET plan_change = $4, plan_code = $5, plan_version = $6
       WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`,
      [tenant, id, periodStart, JSON.stringify(record), plan.code, plan.version],
    );
    await m.query(
      `UPDATE ${s}.subscriptions SET plan = $3, plan_version = $4, entitlements = $5, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
      [tenant, id, plan.code, plan.version, JSON.stringify(entitlements)],
    );
  }

  async setStatus(m: EntityManager, tenant: string, id: string, status: 'active' | 'paused'): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.subscriptions SET status = $3, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`, [tenant, id, status]);
  }

  async startPause(m: EntityManager, tenant: string, id: string, periodStart: Date, at: Date): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.billing_periods SET paused_at = $4 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`, [tenant, id, periodStart, at]);
  }

  /** Ends the period's running pause at `at`, adding its length to the period's paused time (nothing when none runs). */
  async endPause(m: EntityManager, tenant: string, id: string, periodStart: Date, at: Date): Promise<void> {
    const s = schemaOf(m.connection);
    const [period] = await m.query(
      `SELECT paused_ms, paused_at FROM ${s}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND paused_at IS NOT NULL FOR UPDATE`,
      [tenant, id, periodStart],
    );
    if (!period) return;
    const pausedMs = pausedMsAfter({ pausedMs: Number(period.paused_ms), pausedAt: period.paused_at }, at);
    await m.query(
      `UPDATE ${s}.billing_periods SET paused_ms = $4, paused_at = NULL WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`,
      [tenant, id, periodStart, pausedMs],
    );
  }

  async setCancelAtPeriodEnd(m: EntityManager, tenant: string, id: string): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.subscriptions SET cancel_at_period_end = true, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`, [tenant, id]);
  }

  /** Cancels now: the subscription and its current period end at `at`. */
  async cancelNow(m: EntityManager, tenant: string, id: string, periodStart: Date, at: Date): Promise<void> {
    const s = schemaOf(m.connection);
    await m.query(
      `UPDATE ${s}.subscriptions SET status = 'canceled', ended_at = $3, period_end = $3, entitlements = '[]', updated_at = now()
       WHERE tenant = $1 AND subscription_id = $2`,
      [tenant, id, at],
    );
    await m.query(
      `UPDATE ${s}.billing_periods SET active_to = $4, period_end = $4 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`,
      [tenant, id, periodStart, at],
    );
  }

  /** Cancels at the end of the current period (the roll of a subscription canceled at period end). */
  async endWithPeriod(m: EntityManager, tenant: string, id: string): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.subscriptions SET status = 'canceled', ended_at = period_end, entitlements = '[]', updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
      [tenant, id],
    );
  }

  async moveToPeriod(m: EntityManager, tenant: string, id: string, period: Period): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.subscriptions SET period_start = $3, period_end = $4, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
      [tenant, id, period.start, period.end],
    );
  }
}
