import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { customerKey, isoDateTime, subscriptionKey, TOPICS, type AccountStatusChanged, type Entitlement, type SubscriptionChanged } from '@tally/contracts';
import { OutboxPublisher, problem, type OutgoingEvent } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { CatalogRepository, type PlanVersion } from '../catalog/catalog.repository';
import type { PlanDefinition } from '../catalog/plan-definition';
import { nextPeriod, periodContaining, type BillingTime, type PeriodRule } from '../domain/billing-periods';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';

/** Periods one subscription may roll in one job run (a subscription backdated by years catches up over runs). */
const MAX_ROLLS_PER_RUN = 500;

export const createSubscriptionSchema = z.object({
  /** Optional own id (idempotent create); generated when absent. */
  id: z.string().min(1).max(200).optional(),
  customer: z.string().min(1),
  plan: z.string().min(1),
  /** Defaults to the plan's latest version. */
  planVersion: z.number().int().positive().max(2_147_483_647, 'must fit a plan version (int32)').optional(),
  billingTime: z.enum(['calendar', 'anniversary']).default('calendar'),
  /** Defaults to now. */
  startAt: isoDateTime.optional(),
});
export const changePlanSchema = z.object({ plan: z.string().min(1), planVersion: z.number().int().positive().max(2_147_483_647, 'must fit a plan version (int32)').optional() });
export const cancelSchema = z.object({ atPeriodEnd: z.boolean().default(true) });

export type CreateSubscription = z.input<typeof createSubscriptionSchema>;

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

type Emit = (event: OutgoingEvent) => void;

export const periodRuleOf = (row: Pick<SubscriptionRow, 'billing_time' | 'interval' | 'started_at' | 'timezone'>): PeriodRule => ({
  billingTime: row.billing_time,
  interval: row.interval,
  startedAt: row.started_at,
  timeZone: row.timezone,
});

/** What threshold-alerting enforces: the included units of each charge that has them. */
export function entitlementsOf(plan: PlanVersion): Entitlement[] {
  return plan.plan.charges
    .filter((c) => c.includedUnits !== undefined)
    .map((c) => ({ meter: c.meter, included: c.includedUnits!, thresholds: c.thresholds ?? [50, 75, 90, 100], hardLimit: c.hardLimit ?? false }));
}

/**
 * Owns subscriptions and their periods. Every change is written with its `billing.subscriptions.v1`
 * message in one transaction (outbox), so consumers never miss or invent a change.
 */
@Injectable()
export class SubscriptionService {
  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly catalog: CatalogRepository,
    private readonly failures: JobFailuresService,
  ) {}

  async create(tenant: string, input: CreateSubscription, now = new Date()): Promise<SubscriptionChanged> {
    const parsed = createSubscriptionSchema.parse(input);
    return this.outbox.inTransaction(async (m, emit) => {
      const s = schemaOf(m.connection);
      const customer = await this.catalog.customer(tenant, parsed.customer, m);
      if (!customer) throw problem(404, `no customer "${parsed.customer}"`, [{ pointer: '/customer', detail: 'unknown customer' }]);
      const plan = await this.catalog.plan(tenant, parsed.plan, parsed.planVersion, m);
      if (!plan) throw problem(404, `no plan "${parsed.plan}"${parsed.planVersion ? ` version ${parsed.planVersion}` : ''}`, [{ pointer: '/plan', detail: 'unknown plan' }]);
      const id = parsed.id ?? randomUUID();
      // Taken before the existence check, so a create retried concurrently finds the first one instead of
      // tripping over it in the check beside the customer's other subscriptions.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${s}:customer:${tenant}:${parsed.customer}`]);
      const existing = await this.row(m, tenant, id);
      if (existing) {
        if (existing.customer !== parsed.customer || existing.plan !== parsed.plan) throw problem(409, `subscription "${id}" exists with another customer or plan`);
        return this.toEvent(existing, now);
      }
      const startedAt = parsed.startAt ? new Date(parsed.startAt) : now;
      const rule: PeriodRule = { billingTime: parsed.billingTime, interval: plan.plan.interval, startedAt, timeZone: customer.timezone };
      const period = periodContaining(rule, startedAt);
      await this.assertFitsBeside(m, tenant, parsed.customer, plan, period);
      await m.query(
        `INSERT INTO ${s}.subscriptions (tenant, subscription_id, customer, plan, plan_version, status, period_start, period_end, entitlements,
           currency, billing_time, started_at)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9, $10, $11)`,
        [tenant, id, parsed.customer, plan.plan.code, plan.version, period.start, period.end, JSON.stringify(entitlementsOf(plan)),
          plan.plan.currency, parsed.billingTime, startedAt],
      );
      await m.query(
        `INSERT INTO ${s}.billing_periods (tenant, subscription_id, period_start, period_end, customer, plan_code, plan_version, active_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $3)`,
        [tenant, id, period.start, period.end, parsed.customer, plan.plan.code, plan.version],
      );
      const row = (await this.row(m, tenant, id))!;
      this.publish(row, emit, now);
      // Health scoring takes its billing input from here: a new subscriber starts with the customer's standing.
      const status: AccountStatusChanged = {
        eventId: randomUUID(),
        occurredAt: now.toISOString(),
        tenant,
        customer: parsed.customer,
        status: customer.accountStatus as AccountStatusChanged['status'],
        overdueInvoices: 0,
      };
      emit({ topic: TOPICS.billingAccountStatus, key: customerKey(tenant, parsed.customer), value: status });
      return this.toEvent(row, now);
    });
  }

  /** Moves to another plan (or another version of the same) now; the base fee is prorated by day at period close. */
  async changePlan(tenant: string, id: string, input: z.input<typeof changePlanSchema>, now = new Date()): Promise<SubscriptionChanged> {
    const parsed = changePlanSchema.parse(input);
    return this.mutate(tenant, id, now, async (m, row) => {
      if (row.status === 'canceled') throw problem(409, 'the subscription is canceled');
      const plan = await this.catalog.plan(tenant, parsed.plan, parsed.planVersion, m);
      if (!plan) throw problem(404, `no plan "${parsed.plan}"`, [{ pointer: '/plan', detail: 'unknown plan' }]);
      if (plan.plan.currency !== row.currency) throw problem(409, `the plan is in ${plan.plan.currency}, the subscription in ${row.currency}`);
      if (plan.plan.interval !== row.interval) throw problem(409, `the plan is billed ${plan.plan.interval}, the subscription ${row.interval}`);
      if (plan.plan.code === row.plan && plan.version === row.plan_version) return;
      const s = schemaOf(m.connection);
      const [period] = await m.query(
        `SELECT plan_change FROM ${s}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE`,
        [tenant, id, row.period_start],
      );
      if (period?.plan_change) throw problem(409, 'the plan was already changed this period; the next change can take effect from the next period');
      await this.assertFitsBeside(m, tenant, row.customer, plan, { start: row.period_start, end: row.period_end }, id);
      await m.query(
        `UPDATE ${s}.billing_periods SET plan_change = $4, plan_code = $5, plan_version = $6
         WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`,
        [tenant, id, row.period_start, JSON.stringify({ changeAt: now.toISOString(), previousPlan: row.plan, previousVersion: row.plan_version }), plan.plan.code, plan.version],
      );
      await m.query(
        `UPDATE ${s}.subscriptions SET plan = $3, plan_version = $4, entitlements = $5, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
        [tenant, id, plan.plan.code, plan.version, JSON.stringify(entitlementsOf(plan))],
      );
    });
  }

  /** Moves the subscription to its plan's latest version. */
  async migrate(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    const row = await this.outbox.inTransaction((m) => this.row(m, tenant, id));
    if (!row) throw problem(404, `no subscription "${id}"`);
    return this.changePlan(tenant, id, { plan: row.plan }, now);
  }

  /** Stops the base fee (whole days paused are credited at close); usage is still metered and billed. */
  async pause(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    return this.mutate(tenant, id, now, async (m, row) => {
      if (row.status !== 'active') throw problem(409, `the subscription is ${row.status}`);
      const s = schemaOf(m.connection);
      await m.query(`UPDATE ${s}.subscriptions SET status = 'paused', updated_at = now() WHERE tenant = $1 AND subscription_id = $2`, [tenant, id]);
      await m.query(`UPDATE ${s}.billing_periods SET paused_at = $4 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`, [tenant, id, row.period_start, now]);
    });
  }

  async resume(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    return this.mutate(tenant, id, now, async (m, row) => {
      if (row.status !== 'paused') throw problem(409, `the subscription is ${row.status}`);
      const s = schemaOf(m.connection);
      await m.query(`UPDATE ${s}.subscriptions SET status = 'active', updated_at = now() WHERE tenant = $1 AND subscription_id = $2`, [tenant, id]);
      await this.endPause(m, tenant, id, row.period_start, now);
    });
  }

  /** At period end (default): the current period is billed in full and not renewed. Now: the period ends here, prorated. */
  async cancel(tenant: string, id: string, input: z.input<typeof cancelSchema>, now = new Date()): Promise<SubscriptionChanged> {
    const { atPeriodEnd } = cancelSchema.parse(input);
    return this.mutate(tenant, id, now, async (m, row) => {
      if (row.status === 'canceled') throw problem(409, 'the subscription is already canceled');
      const s = schemaOf(m.connection);
      if (atPeriodEnd) {
        await m.query(`UPDATE ${s}.subscriptions SET cancel_at_period_end = true, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`, [tenant, id]);
        return;
      }
      if (row.status === 'paused') await this.endPause(m, tenant, id, row.period_start, now);
      await m.query(
        `UPDATE ${s}.subscriptions SET status = 'canceled', ended_at = $3, period_end = $3, entitlements = '[]', updated_at = now()
         WHERE tenant = $1 AND subscription_id = $2`,
        [tenant, id, now],
      );
      await m.query(
        `UPDATE ${s}.billing_periods SET active_to = $4, period_end = $4 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`,
        [tenant, id, row.period_start, now],
      );
    });
  }

  async get(tenant: string, id: string): Promise<SubscriptionChanged & { billingTime: BillingTime; startedAt: string }> {
    const row = await this.outbox.inTransaction((m) => this.row(m, tenant, id));
    if (!row) throw problem(404, `no subscription "${id}"`);
    return { ...this.toEvent(row, new Date()), billingTime: row.billing_time, startedAt: row.started_at.toISOString() };
  }

  async list(tenant: string, customer: string): Promise<SubscriptionChanged[]> {
    return this.outbox.inTransaction(async (m) => {
      const rows: SubscriptionRow[] = await m.query(`${this.selectRows(m)} WHERE s.tenant = $1 AND s.customer = $2 ORDER BY s.created_at`, [tenant, customer]);
      return rows.map((r) => this.toEvent(r, new Date()));
    });
  }

  /**
   * Starts the next period of every subscription whose period has ended (catching up if the job was
   * down), or ends it when it was canceled at period end. One transaction per period roll; a
   * subscription that fails is recorded and retried later (job_failures) while the others roll; rows
   * locked by another instance are skipped.
   */
  async rollPeriods(now = new Date()): Promise<number> {
    const backingOff = await this.failures.backingOff('roll-period', now);
    const due: Array<{ tenant: string; subscription_id: string }> = await this.outbox.inTransaction((m) =>
      m.query(
        `SELECT tenant, subscription_id FROM ${schemaOf(m.connection)}.subscriptions WHERE status IN ('active', 'paused') AND period_end <= $1 ORDER BY period_end`,
        [now],
      ),
    );
    let rolled = 0;
    for (const d of due) {
      if (backingOff.has(failureId(d.tenant, d.subscription_id))) continue;
      const item = { tenant: d.tenant, key: d.subscription_id, item: { subscriptionId: d.subscription_id } };
      // A subscription left behind (the job was down, a backdated start) rolls once per missed period.
      for (let i = 0; i < MAX_ROLLS_PER_RUN; i++) {
        const outcome = await this.failures.run('roll-period', item, now, (m, emit) => this.rollOne(m, emit, d.tenant, d.subscription_id, now));
        if (!outcome.ok || !outcome.value) break;
        rolled++;
      }
    }
    await this.failures.refreshGauge();
    return rolled;
  }

  /** Rolls one due period of the subscription; false when none is due (or another instance holds it). */
  private async rollOne(m: EntityManager, emit: Emit, tenant: string, id: string, now: Date): Promise<boolean> {
    const s = schemaOf(m.connection);
    const [due] = await m.query(
      `SELECT subscription_id FROM ${s}.subscriptions WHERE tenant = $1 AND subscription_id = $2 AND status IN ('active', 'paused') AND period_end <= $3
       FOR UPDATE SKIP LOCKED`,
      [tenant, id, now],
    );
    if (!due) return false;
    const row = await this.row(m, tenant, id);
    if (!row) throw new Error(`subscription "${id}" has no customer or plan version to roll its period with`);
    if (row.cancel_at_period_end) {
      if (row.status === 'paused') await this.endPause(m, row.tenant, row.subscription_id, row.period_start, row.period_end);
      await m.query(
        `UPDATE ${s}.subscriptions SET status = 'canceled', ended_at = period_end, entitlements = '[]', updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
        [row.tenant, row.subscription_id],
      );
    } else {
      const next = nextPeriod(periodRuleOf(row), row.period_end);
      // A period that does not move forward would roll forever.
      if (next.end <= row.period_end) throw new Error(`the period after ${row.period_end.toISOString()} ends at ${next.end.toISOString()}, not after it`);
      if (row.status === 'paused') await this.endPause(m, row.tenant, row.subscription_id, row.period_start, row.period_end);
      await m.query(
        `UPDATE ${s}.subscriptions SET period_start = $3, period_end = $4, updated_at = now() WHERE tenant = $1 AND subscription_id = $2`,
        [row.tenant, row.subscription_id, next.start, next.end],
      );
      await m.query(
        `INSERT INTO ${s}.billing_periods (tenant, subscription_id, period_start, period_end, customer, plan_code, plan_version, active_from, paused_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $3, $8) ON CONFLICT DO NOTHING`,
        [row.tenant, row.subscription_id, next.start, next.end, row.customer, row.plan, row.plan_version, row.status === 'paused' ? next.start : null],
      );
    }
    this.publish((await this.row(m, row.tenant, row.subscription_id))!, emit, now);
    return true;
  }

  private async endPause(m: EntityManager, tenant: string, id: string, periodStart: Date, at: Date): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.billing_periods SET paused_ms = paused_ms + GREATEST(0, (extract(epoch FROM $4::timestamptz - paused_at) * 1000)::bigint), paused_at = NULL
       WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND paused_at IS NOT NULL`,
      [tenant, id, periodStart, at],
    );
  }

  /**
   * A customer's subscriptions must not charge the same meter, and must share period bounds: usage is
   * aggregated per customer period, so two overlapping periods of one customer would split it wrongly.
   */
  private async assertFitsBeside(m: EntityManager, tenant: string, customer: string, plan: PlanVersion, period: { start: Date; end: Date }, except?: string): Promise<void> {
    const others: SubscriptionRow[] = await m.query(
      `${this.selectRows(m)} WHERE s.tenant = $1 AND s.customer = $2 AND s.status <> 'canceled' AND s.subscription_id <> $3`,
      [tenant, customer, except ?? ''],
    );
    const meters = new Set(plan.plan.charges.map((c) => c.meter));
    for (const other of others) {
      const shared = other.definition.charges.map((c) => c.meter).filter((x) => meters.has(x));
      if (shared.length > 0) throw problem(409, `meter(s) ${shared.join(', ')} already charged by subscription "${other.subscription_id}"`);
      const overlaps = other.period_start < period.end && period.start < other.period_end;
      const same = other.period_start.getTime() === period.start.getTime() && other.period_end.getTime() === period.end.getTime();
      if (overlaps && !same) {
        throw problem(409, `the customer's subscription "${other.subscription_id}" has the period ${other.period_start.toISOString()} - ${other.period_end.toISOString()}; a customer's subscriptions share period bounds (same billing time and interval)`);
      }
    }
  }

  private async mutate(tenant: string, id: string, now: Date, change: (m: EntityManager, row: SubscriptionRow) => Promise<void>): Promise<SubscriptionChanged> {
    return this.outbox.inTransaction(async (m, emit) => {
      const s = schemaOf(m.connection);
      const [locked] = await m.query(`SELECT 1 FROM ${s}.subscriptions WHERE tenant = $1 AND subscription_id = $2 FOR UPDATE`, [tenant, id]);
      if (!locked) throw problem(404, `no subscription "${id}"`);
      const before = (await this.row(m, tenant, id))!;
      await change(m, before);
      const after = (await this.row(m, tenant, id))!;
      this.publish(after, emit, now);
      return this.toEvent(after, now);
    });
  }

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

  private publish(row: SubscriptionRow, emit: Emit, now: Date): void {
    emit({ topic: TOPICS.billingSubscriptions, key: subscriptionKey(row.tenant, row.customer, row.subscription_id), value: this.toEvent(row, now) });
  }

  private toEvent(row: SubscriptionRow, now: Date): SubscriptionChanged {
    return {
      eventId: randomUUID(),
      occurredAt: now.toISOString(),
      tenant: row.tenant,
      customer: row.customer,
      subscriptionId: row.subscription_id,
      plan: row.plan,
      planVersion: row.plan_version,
      currency: row.currency,
      status: row.status,
      cancelAtPeriodEnd: row.cancel_at_period_end,
      periodStart: row.period_start.toISOString(),
      periodEnd: row.period_end.toISOString(),
      entitlements: row.status === 'canceled' ? [] : row.entitlements,
    };
  }
}
