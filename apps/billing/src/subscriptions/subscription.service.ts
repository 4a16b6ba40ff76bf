import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { customerKey, isoDateTime, subscriptionKey, TOPICS, type SubscriptionChanged } from '@tally/contracts';
import { OutboxPublisher, problem, type OutgoingEvent } from '@tally/nest-platform';
import { CatalogRepository } from '../catalog/catalog.repository';
import type { BillingTime } from '../domain/billing-periods';
import { accountStatusOnSubscribe, entitlementsOf, subscriptionChanged } from '../domain/subscription-event';
import {
  besideConflict,
  cancelDecision,
  changePlanStatusRefusal,
  createOutcome,
  firstPeriod,
  pauseRefusal,
  planChangeOutcome,
  planChangeRecord,
  resumeRefusal,
  rollDecision,
  secondPlanChangeRefusal,
  type Refusal,
} from '../domain/subscription-lifecycle';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';
import { SubscriptionRepository, toSubscription, type SubscriptionRow } from './subscription.repository';

// Invoices read stored subscriptions through these.
export { periodRuleOf, type SubscriptionRow } from './subscription.repository';
export { entitlementsOf } from '../domain/subscription-event';

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

type Emit = (event: OutgoingEvent) => void;

const refuse = (r: Refusal | null): void => {
  if (r) throw problem(r.status, r.title, r.errors);
};
const isRefusal = (x: unknown): x is Refusal => typeof x === 'object' && x !== null && 'status' in x && 'title' in x;

/**
 * The subscription use cases. Each runs in one transaction: load the subscription, ask the lifecycle
 * (domain/subscription-lifecycle.ts) what the change does, write it, and write its
 * `billing.subscriptions.v1` message to the outbox in the same transaction (domain/subscription-event.ts),
 * so consumers never miss or invent a change.
 */
@Injectable()
export class SubscriptionService {
  private readonly repo = new SubscriptionRepository();

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly catalog: CatalogRepository,
    private readonly failures: JobFailuresService,
  ) {}

  async create(tenant: string, input: CreateSubscription, now = new Date()): Promise<SubscriptionChanged> {
    const parsed = createSubscriptionSchema.parse(input);
    return this.outbox.inTransaction(async (m, emit) => {
      const customer = await this.catalog.customer(tenant, parsed.customer, m);
      if (!customer) throw problem(404, `no customer "${parsed.customer}"`, [{ pointer: '/customer', detail: 'unknown customer' }]);
      const plan = await this.catalog.plan(tenant, parsed.plan, parsed.planVersion, m);
      if (!plan) throw problem(404, `no plan "${parsed.plan}"${parsed.planVersion ? ` version ${parsed.planVersion}` : ''}`, [{ pointer: '/plan', detail: 'unknown plan' }]);
      const id = parsed.id ?? randomUUID();
      await this.repo.lockCustomer(m, tenant, parsed.customer);
      const existing = await this.repo.row(m, tenant, id);
      const outcome = createOutcome(existing, { id, customer: parsed.customer, plan: parsed.plan });
      if (isRefusal(outcome)) throw problem(outcome.status, outcome.title);
      if (outcome === 'replay') return this.eventOf(existing!, now);
      const startedAt = parsed.startAt ? new Date(parsed.startAt) : now;
      const period = firstPeriod({ billingTime: parsed.billingTime, interval: plan.plan.interval, startedAt, timeZone: customer.timezone });
      const siblings = await this.repo.siblings(m, tenant, parsed.customer);
      refuse(besideConflict(plan.plan.charges.map((c) => c.meter), period, siblings));
      await this.repo.insert(m, {
        tenant, id, customer: parsed.customer, plan: plan.plan.code, planVersion: plan.version, currency: plan.plan.currency,
        billingTime: parsed.billingTime, startedAt, period, entitlements: entitlementsOf(plan.plan),
      });
      const row = (await this.repo.row(m, tenant, id))!;
      this.publish(row, emit, now);
      emit({ topic: TOPICS.billingAccountStatus, key: customerKey(tenant, parsed.customer), value: accountStatusOnSubscribe(toSubscription(row), customer.accountStatus, { eventId: randomUUID(), occurredAt: now }) });
      return this.eventOf(row, now);
    });
  }

  /** Moves to another plan (or another version of the same) now; the base fee is prorated by day at period close. */
  async changePlan(tenant: string, id: string, input: z.input<typeof changePlanSchema>, now = new Date()): Promise<SubscriptionChanged> {
    const parsed = changePlanSchema.parse(input);
    return this.mutate(tenant, id, now, (m, row) => this.moveToPlan(m, row, parsed, now));
  }

  /** Moves the subscription to its plan's latest version. */
  async migrate(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    return this.mutate(tenant, id, now, (m, row) => this.moveToPlan(m, row, { plan: row.plan }, now));
  }

  /** Stops the base fee (whole days paused are credited at close); usage is still metered and billed. */
  async pause(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    return this.mutate(tenant, id, now, async (m, row) => {
      refuse(pauseRefusal(row.status));
      await this.repo.setStatus(m, tenant, id, 'paused');
      await this.repo.startPause(m, tenant, id, row.period_start, now);
    });
  }

  async resume(tenant: string, id: string, now = new Date()): Promise<SubscriptionChanged> {
    return this.mutate(tenant, id, now, async (m, row) => {
      refuse(resumeRefusal(row.status));
      await this.repo.setStatus(m, tenant, id, 'active');
      await this.repo.endPause(m, tenant, id, row.period_start, now);
    });
  }

  /** At period end (default): the current period is billed in full and not renewed. Now: the period ends here, prorated. */
  async cancel(tenant: string, id: string, input: z.input<typeof cancelSchema>, now = new Date()): Promise<SubscriptionChanged> {
    const { atPeriodEnd } = cancelSchema.parse(input);
    return this.mutate(tenant, id, now, async (m, row) => {
      const decision = cancelDecision(row.status, atPeriodEnd, now);
      if (isRefusal(decision)) throw problem(decision.status, decision.title);
      if (decision.kind === 'at-period-end') return this.repo.setCancelAtPeriodEnd(m, tenant, id);
      if (decision.endPause) await this.repo.endPause(m, tenant, id, row.period_start, decision.endsAt);
      await this.repo.cancelNow(m, tenant, id, row.period_start, decision.endsAt);
    });
  }

  async get(tenant: string, id: string): Promise<SubscriptionChanged & { billingTime: BillingTime; startedAt: string }> {
    const row = await this.outbox.inTransaction((m) => this.repo.row(m, tenant, id));
    if (!row) throw problem(404, `no subscription "${id}"`);
    return { ...this.eventOf(row, new Date()), billingTime: row.billing_time, startedAt: row.started_at.toISOString() };
  }

  async list(tenant: string, customer: string): Promise<SubscriptionChanged[]> {
    const rows = await this.outbox.inTransaction((m) => this.repo.ofCustomer(m, tenant, customer));
    return rows.map((r) => this.eventOf(r, new Date()));
  }

  /** The stored subscription with its customer's zone and plan version (invoices compose from it). */
  async row(m: EntityManager, tenant: string, id: string): Promise<SubscriptionRow | null> {
    return this.repo.row(m, tenant, id);
  }

  /**
   * Starts the next period of every subscription whose period has ended (catching up if the job was
   * down), or ends it when it was canceled at period end. One transaction per period roll; a
   * subscription that fails is recorded and retried later (job_failures) while the others roll; rows
   * locked by another instance are skipped.
   */
  async rollPeriods(now = new Date()): Promise<number> {
    const backingOff = await this.failures.backingOff('roll-period', now);
    const due = await this.outbox.inTransaction((m) => this.repo.due(m, now));
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
    if (!(await this.repo.lockDue(m, tenant, id, now))) return false;
    const row = await this.repo.row(m, tenant, id);
    if (!row) throw new Error(`subscription "${id}" has no customer or plan version to roll its period with`);
    const decision = rollDecision(toSubscription(row), now);
    if (decision.kind === 'none') return false;
    if (decision.endPauseAt) await this.repo.endPause(m, tenant, id, row.period_start, decision.endPauseAt);
    if (decision.kind === 'end') {
      await this.repo.endWithPeriod(m, tenant, id);
    } else {
      await this.repo.moveToPeriod(m, tenant, id, decision.next);
      await this.repo.insertPeriod(m, { tenant, id, customer: row.customer, plan: row.plan, planVersion: row.plan_version }, decision.next, decision.pausedFrom);
    }
    this.publish((await this.repo.row(m, tenant, id))!, emit, now);
    return true;
  }

  private async moveToPlan(m: EntityManager, row: SubscriptionRow, target: z.output<typeof changePlanSchema>, now: Date): Promise<void> {
    refuse(changePlanStatusRefusal(row.status));
    const plan = await this.catalog.plan(row.tenant, target.plan, target.planVersion, m);
    if (!plan) throw problem(404, `no plan "${target.plan}"`, [{ pointer: '/plan', detail: 'unknown plan' }]);
    const outcome = planChangeOutcome(toSubscription(row), { code: plan.plan.code, version: plan.version, currency: plan.plan.currency, interval: plan.plan.interval });
    if (outcome === 'unchanged') return;
    if (isRefusal(outcome)) throw problem(outcome.status, outcome.title);
    // The period's row is locked only once the change is otherwise possible.
    refuse(secondPlanChangeRefusal(await this.repo.periodPlanChanged(m, row.tenant, row.subscription_id, row.period_start)));
    const siblings = await this.repo.siblings(m, row.tenant, row.customer, row.subscription_id);
    refuse(besideConflict(plan.plan.charges.map((c) => c.meter), { start: row.period_start, end: row.period_end }, siblings));
    await this.repo.changePlan(m, row.tenant, row.subscription_id, row.period_start, { code: plan.plan.code, version: plan.version }, planChangeRecord(toSubscription(row), now), entitlementsOf(plan.plan));
  }

  /** One change of one subscription: its row locked, the change written, the new state published, in one transaction. */
  private async mutate(tenant: string, id: string, now: Date, change: (m: EntityManager, row: SubscriptionRow) => Promise<void>): Promise<SubscriptionChanged> {
    return this.outbox.inTransaction(async (m, emit) => {
      if (!(await this.repo.lock(m, tenant, id))) throw problem(404, `no subscription "${id}"`);
      await change(m, (await this.repo.row(m, tenant, id))!);
      const after = (await this.repo.row(m, tenant, id))!;
      this.publish(after, emit, now);
      return this.eventOf(after, now);
    });
  }

  private publish(row: SubscriptionRow, emit: Emit, now: Date): void {
    emit({ topic: TOPICS.billingSubscriptions, key: subscriptionKey(row.tenant, row.customer, row.subscription_id), value: this.eventOf(row, now) });
  }

  private eventOf(row: SubscriptionRow, now: Date): SubscriptionChanged {
    return subscriptionChanged(toSubscription(row), { eventId: randomUUID(), occurredAt: now });
  }
}
