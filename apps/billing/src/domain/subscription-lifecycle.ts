import type { PlanDefinition } from '../catalog/plan-definition';
import { nextPeriod, periodContaining, type BillingTime, type Period, type PeriodRule, type PlanInterval } from './billing-periods';

/**
 * A subscription's lifecycle, as decisions without I/O: which changes a subscription in a given state
 * accepts, what each does to its periods, and how long a period was paused. The subscription service
 * loads the state, asks here, and writes what it is told in one transaction.
 *
 *   active ──pause──▶ paused ──resume──▶ active
 *   active|paused ──cancel now──▶ canceled            (the period ends now)
 *   active|paused ──cancel at period end──▶ (same status, cancelAtPeriodEnd) ──roll──▶ canceled
 *   active|paused ──roll──▶ the next period            (a paused one stays paused, its pause split at the boundary)
 *   active|paused ──change plan──▶ another plan/version (once per period; same currency and interval)
 */
export type SubscriptionStatus = 'active' | 'paused' | 'canceled';

export interface Subscription {
  tenant: string;
  subscriptionId: string;
  customer: string;
  plan: string;
  planVersion: number;
  status: SubscriptionStatus;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  billingTime: BillingTime;
  startedAt: Date;
  cancelAtPeriodEnd: boolean;
  /** The customer's IANA time zone: periods are cut at its midnights. */
  timeZone: string;
  interval: PlanInterval;
  /** The definition of the plan version it is on. */
  definition: PlanDefinition;
}

/** A change the lifecycle refuses, as the API answers it (404 for what does not exist, 409 for a conflict with the state). */
export interface Refusal {
  status: 404 | 409;
  title: string;
  errors?: Array<{ pointer: string; detail: string }>;
}

export const periodRuleOf = (s: Pick<Subscription, 'billingTime' | 'interval' | 'startedAt' | 'timeZone'>): PeriodRule => ({
  billingTime: s.billingTime,
  interval: s.interval,
  startedAt: s.startedAt,
  timeZone: s.timeZone,
});

// ---- create ----------------------------------------------------------------------------------------

/**
 * A create with an id that exists is a retry when it names the same customer and plan (answered with the
 * subscription as it is), a conflict otherwise.
 */
export function createOutcome(existing: Pick<Subscription, 'customer' | 'plan'> | null, request: { id: string; customer: string; plan: string }): 'create' | 'replay' | Refusal {
  if (!existing) return 'create';
  if (existing.customer !== request.customer || existing.plan !== request.plan) return { status: 409, title: `subscription "${request.id}" exists with another customer or plan` };
  return 'replay';
}

/** The first period starts when the subscription does (a backdated start included) and ends at the rule's next boundary. */
export const firstPeriod = (rule: PeriodRule): Period => periodContaining(rule, rule.startedAt);

/** Another live subscription of the same customer, as the beside-check needs it. */
export interface Sibling {
  subscriptionId: string;
  meters: string[];
  periodStart: Date;
  periodEnd: Date;
}

/**
 * A customer's subscriptions must not charge the same meter, and must share period bounds: usage is
 * aggregated per customer period, so two overlapping periods of one customer would split it wrongly.
 * Checked against the siblings in their order; the first conflict is the answer.
 */
export function besideConflict(meters: readonly string[], period: Period, siblings: readonly Sibling[]): Refusal | null {
  const mine = new Set(meters);
  for (const other of siblings) {
    const shared = other.meters.filter((x) => mine.has(x));
    if (shared.length > 0) return { status: 409, title: `meter(s) ${shared.join(', ')} already charged by subscription "${other.subscriptionId}"` };
    const overlaps = other.periodStart < period.end && period.start < other.periodEnd;
    const same = other.periodStart.getTime() === period.start.getTime() && other.periodEnd.getTime() === period.end.getTime();
    if (overlaps && !same) {
      return {
        status: 409,
        title: `the customer's subscription "${other.subscriptionId}" has the period ${other.periodStart.toISOString()} - ${other.periodEnd.toISOString()}; a customer's subscriptions share period bounds (same billing time and interval)`,
      };
    }
  }
  return null;
}

// ---- change plan / migrate -------------------------------------------------------------------------

/** A canceled subscription takes no plan (asked before the plan is looked up, so it answers first). */
export const changePlanStatusRefusal = (status: SubscriptionStatus): Refusal | null => (status === 'canceled' ? { status: 409, title: 'the subscription is canceled' } : null);

export interface TargetPlan {
  code: string;
  version: number;
  currency: string;
  interval: PlanInterval;
}

/**
 * Whether a move to `target` is a change, nothing (the same plan version), or refused: a subscription keeps
 * its currency and interval (its periods and invoices are cut by them).
 */
export function planChangeOutcome(current: Pick<Subscription, 'plan' | 'planVersion' | 'currency' | 'interval'>, target: TargetPlan): 'change' | 'unchanged' | Refusal {
  if (target.currency !== current.currency) return { status: 409, title: `the plan is in ${target.currency}, the subscription in ${current.currency}` };
  if (target.interval !== current.interval) return { status: 409, title: `the plan is billed ${target.interval}, the subscription ${current.interval}` };
  if (target.code === current.plan && target.version === current.planVersion) return 'unchanged';
  return 'change';
}

/** One plan change per period: the invoice prorates one change (the old plan's days and the new one's). */
export const secondPlanChangeRefusal = (alreadyChangedThisPeriod: boolean): Refusal | null =>
  alreadyChangedThisPeriod ? { status: 409, title: 'the plan was already changed this period; the next change can take effect from the next period' } : null;

/** What the period remembers of a plan change, so its invoice prorates the base fee by day. */
export interface PlanChangeRecord {
  changeAt: string;
  previousPlan: string;
  previousVersion: number;
}

export const planChangeRecord = (current: Pick<Subscription, 'plan' | 'planVersion'>, at: Date): PlanChangeRecord => ({
  changeAt: at.toISOString(),
  previousPlan: current.plan,
  previousVersion: current.planVersion,
});

// ---- pause / resume --------------------------------------------------------------------------------

export const pauseRefusal = (status: SubscriptionStatus): Refusal | null => (status !== 'active' ? { status: 409, title: `the subscription is ${status}` } : null);
export const resumeRefusal = (status: SubscriptionStatus): Refusal | null => (status !== 'paused' ? { status: 409, title: `the subscription is ${status}` } : null);

/**
 * The pause credit's measure: the milliseconds a period was paused, once a pause ends (resume, cancel, the
 * period's end). A pause that "ends" before it began (a clock step back) adds nothing rather than taking
 * paused time away. The invoice credits the whole days of it.
 */
export function pausedMsAfter(period: { pausedMs: number; pausedAt: Date }, endedAt: Date): number {
  return period.pausedMs + Math.max(0, endedAt.getTime() - period.pausedAt.getTime());
}

// ---- cancel ----------------------------------------------------------------------------------------

export type CancelDecision =
  /** The period is billed in full and not renewed: the roll at its end cancels. */
  | { kind: 'at-period-end' }
  /** The period ends now (its base fee prorated); a running pause ends with it. */
  | { kind: 'now'; endsAt: Date; endPause: boolean };

export function cancelDecision(status: SubscriptionStatus, atPeriodEnd: boolean, now: Date): CancelDecision | Refusal {
  if (status === 'canceled') return { status: 409, title: 'the subscription is already canceled' };
  if (atPeriodEnd) return { kind: 'at-period-end' };
  return { kind: 'now', endsAt: now, endPause: status === 'paused' };
}

// ---- period roll -----------------------------------------------------------------------------------

export type RollDecision =
  /** Not due: the period has not ended, or the subscription is canceled. */
  | { kind: 'none' }
  /** Canceled at period end: it ends with its period; a running pause ends there. */
  | { kind: 'end'; endPauseAt: Date | null }
  /** The next period starts where this one ended; a paused subscription's pause is split at the boundary. */
  | { kind: 'renew'; next: Period; endPauseAt: Date | null; pausedFrom: Date | null };

/**
 * What the roll does with a subscription at `now`. One period per decision: a subscription left behind
 * (the job was down, a backdated start) rolls once per missed period. Throws when the rule gives a period
 * that does not move forward, which would roll forever (the job records it as the item's failure).
 */
export function rollDecision(sub: Pick<Subscription, 'status' | 'cancelAtPeriodEnd' | 'periodEnd' | 'billingTime' | 'interval' | 'startedAt' | 'timeZone'>, now: Date): RollDecision {
  if (sub.status === 'canceled' || sub.periodEnd > now) return { kind: 'none' };
  const endPauseAt = sub.status === 'paused' ? sub.periodEnd : null;
  if (sub.cancelAtPeriodEnd) return { kind: 'end', endPauseAt };
  const next = nextPeriod(periodRuleOf(sub), sub.periodEnd);
  if (next.end <= sub.periodEnd) throw new Error(`the period after ${sub.periodEnd.toISOString()} ends at ${next.end.toISOString()}, not after it`);
  return { kind: 'renew', next, endPauseAt, pausedFrom: sub.status === 'paused' ? next.start : null };
}
