import type { AccountStatusChanged } from '@tally/contracts';

/** How unpaid invoices turn into an account status, and when a failed payment is retried. */
export interface DunningPolicy {
  /** Days after each failed attempt until the next one (e.g. [1, 3, 7]); retries stop after the last. */
  retryDays: number[];
  /** Days an invoice may be overdue before the account is past_due (0: as soon as it is due and unpaid after a failed payment). */
  pastDueAfterDays: number;
  /** Days overdue before the account is delinquent. */
  delinquentAfterDays: number;
}

export interface UnpaidInvoice {
  status: 'finalized' | 'payment_failed';
  dueAt: Date;
  lastPaymentFailedAt: Date | null;
}

const DAY_MS = 86_400_000;

/**
 * An invoice is overdue once it is due and unpaid; a failed payment makes it overdue at once (the
 * customer was asked for the money and it did not come). The account takes the worst invoice's standing.
 */
export function accountStanding(invoices: readonly UnpaidInvoice[], now: Date, policy: DunningPolicy): Pick<AccountStatusChanged, 'status' | 'overdueInvoices'> {
  let worstDays = -1;
  let overdue = 0;
  for (const inv of invoices) {
    const since = inv.status === 'payment_failed' && inv.lastPaymentFailedAt && inv.lastPaymentFailedAt < inv.dueAt ? inv.lastPaymentFailedAt : inv.dueAt;
    const isOverdue = inv.status === 'payment_failed' ? now >= since : now > since;
    if (!isOverdue) continue;
    overdue++;
    worstDays = Math.max(worstDays, (now.getTime() - since.getTime()) / DAY_MS);
  }
  if (overdue === 0) return { status: 'good_standing', overdueInvoices: 0 };
  if (worstDays >= policy.delinquentAfterDays) return { status: 'delinquent', overdueInvoices: overdue };
  if (worstDays >= policy.pastDueAfterDays) return { status: 'past_due', overdueInvoices: overdue };
  return { status: 'good_standing', overdueInvoices: overdue };
}

/** When to try again after the `attempts`-th failed payment at `failedAt`; null once the schedule is used up. */
export function nextPaymentAttempt(attempts: number, failedAt: Date, policy: DunningPolicy): Date | null {
  const wait = policy.retryDays[attempts - 1];
  return wait === undefined ? null : new Date(failedAt.getTime() + wait * DAY_MS);
}

export type DunningNoticeKind = 'payment_failed' | 'final_notice' | 'account_past_due' | 'account_delinquent';
type Standing = AccountStatusChanged['status'];
const SEVERITY: Readonly<Record<Standing, number>> = { good_standing: 0, past_due: 1, delinquent: 2 };

/** The notice a failed payment sends: another attempt is scheduled, or none is left. */
export function paymentFailureNotice(nextAttemptAt: Date | null): DunningNoticeKind {
  return nextAttemptAt === null ? 'final_notice' : 'payment_failed';
}

/** A notice only when the standing gets worse (a recovery is told by billing.account-status.v1, not dunned). */
export function standingNotice(previous: Standing, next: Standing): DunningNoticeKind | null {
  if (SEVERITY[next] <= SEVERITY[previous]) return null;
  return next === 'delinquent' ? 'account_delinquent' : 'account_past_due';
}

export interface RetryCandidate {
  status: string;
  paymentAttempts: number;
  nextPaymentAttemptAt: Date | null;
  /** The attempt a retry request was last published for (0: none). */
  retryRequestedAttempt: number;
}

/**
 * The payment attempt to request now, or null: a failed invoice whose next attempt time has come and
 * whose attempt (failed attempts + 1) was not requested yet. Paid or voided invoices are never retried.
 */
export function paymentAttemptDue(invoice: RetryCandidate, now: Date): number | null {
  if (invoice.status !== 'payment_failed' || invoice.nextPaymentAttemptAt === null) return null;
  if (invoice.nextPaymentAttemptAt.getTime() > now.getTime()) return null;
  const attempt = invoice.paymentAttempts + 1;
  return attempt > invoice.retryRequestedAttempt ? attempt : null;
}
