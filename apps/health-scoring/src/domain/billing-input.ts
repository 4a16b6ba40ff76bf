import { round2 } from './usage-input';

/**
 * Billing status input (0-100): the account standing from `billing.account-status.v1` (good standing or
 * unknown 100, past due 40, delinquent 0), minus 25 for each invoice whose payment failed and 15 for each
 * one paid after its due date, counted when that happened within the last 90 days (an invoice counts once,
 * as failed if it ever failed), never below 0. A late or failed payment therefore stops weighing on the
 * score 90 days later, when the daily rescoring sees it has aged out.
 */
export type AccountStanding = 'good_standing' | 'past_due' | 'delinquent';

export interface InvoicePaymentFacts {
  dueAt: Date | null;
  paidAt: Date | null;
  firstFailedAt: Date | null;
}

export interface BillingInput {
  value: number;
  standing: AccountStanding | null;
  failedInvoices: number;
  latePaidInvoices: number;
}

export const BILLING_LOOKBACK_DAYS = 90;
export const FAILED_PAYMENT_PENALTY = 25;
export const LATE_PAYMENT_PENALTY = 15;
const STANDING_SCORE: Record<AccountStanding, number> = { good_standing: 100, past_due: 40, delinquent: 0 };

export function billingInput(standing: AccountStanding | null, invoices: InvoicePaymentFacts[], now: Date): BillingInput {
  const since = now.getTime() - BILLING_LOOKBACK_DAYS * 86_400_000;
  const recent = (t: Date | null): t is Date => t !== null && t.getTime() > since && t.getTime() <= now.getTime();
  let failedInvoices = 0;
  let latePaidInvoices = 0;
  for (const i of invoices) {
    if (recent(i.firstFailedAt)) failedInvoices++;
    else if (i.firstFailedAt === null && recent(i.paidAt) && i.dueAt !== null && i.paidAt.getTime() > i.dueAt.getTime()) latePaidInvoices++;
  }
  const base = standing === null ? 100 : STANDING_SCORE[standing];
  const value = Math.max(0, base - FAILED_PAYMENT_PENALTY * failedInvoices - LATE_PAYMENT_PENALTY * latePaidInvoices);
  return { value: round2(value), standing, failedInvoices, latePaidInvoices };
}
