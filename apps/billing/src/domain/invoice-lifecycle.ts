import { Dec, prorationDays, type DecimalInput, type InvoiceAdjustmentInput } from '@tally/pricing';
import { nextPaymentAttempt, type DunningPolicy } from './dunning';

/**
 * An invoice's lifecycle, as decisions without I/O: which status changes an invoice accepts, what closing a
 * period, finalizing, a payment report and a void do, and which changes are published. The invoice services
 * load the state, ask here, and write what they are told in one transaction (invoice.repository.ts).
 *
 *   (period ended) ──close──▶ draft ──re-price during grace──▶ draft
 *   draft ──finalize (after grace)──▶ finalized, or paid when nothing is due
 *   (progressive / adjustment) ──issue──▶ finalized, or paid when nothing is due    (never a draft)
 *   finalized|payment_failed ──payment succeeded──▶ paid
 *   finalized|payment_failed ──payment failed──▶ payment_failed (attempts + 1, next attempt per dunning)
 *   finalized|payment_failed ──void──▶ void
 *   paid, void: final
 */
export type InvoiceStatus = 'draft' | 'finalized' | 'paid' | 'payment_failed' | 'void';
export type InvoiceKind = 'period' | 'adjustment' | 'progressive';

export const INVOICE_STATUSES: readonly InvoiceStatus[] = ['draft', 'finalized', 'paid', 'payment_failed', 'void'];

const TRANSITIONS: Readonly<Record<InvoiceStatus, readonly InvoiceStatus[]>> = {
  draft: ['draft', 'finalized', 'paid'],
  finalized: ['paid', 'payment_failed', 'void'],
  payment_failed: ['paid', 'payment_failed', 'void'],
  paid: [],
  void: [],
};

/** Whether an invoice in `from` may move to `to` (draft → draft is a re-price; payment_failed → payment_failed another failed attempt). */
export const canTransition = (from: InvoiceStatus, to: InvoiceStatus): boolean => TRANSITIONS[from].includes(to);

/** Unpaid and final: what dunning counts and what can still be paid or voided. */
export const isOpen = (status: InvoiceStatus): status is 'finalized' | 'payment_failed' => status === 'finalized' || status === 'payment_failed';

/** A refusal as the API answers it (404: no such invoice; 409: the invoice's state does not allow it). */
export interface Refusal {
  status: 404 | 409;
  title: string;
}

// ---- close: draft, re-price, finalize ----------------------------------------------------------------

export type CloseDecision =
  /** The period's invoice is final already (or voided): the close leaves it alone. */
  | { kind: 'skip' }
  /**
   * Compose the period's invoice now: a new draft (published as a draft) or the existing draft re-priced
   * (rewritten only when it changed, not published); finalized when the grace period is over.
   */
  | { kind: 'compose'; createDraft: boolean; finalize: boolean };

/**
 * What closing an ended period does at `now`. The grace period is when late events may still change the
 * usage: until `periodEnd + grace` the invoice stays a draft; at exactly that instant it is finalized.
 */
export function closeDecision(existing: { status: InvoiceStatus } | null, periodEnd: Date, now: Date, graceMs: number): CloseDecision {
  if (existing && existing.status !== 'draft') return { kind: 'skip' };
  return { kind: 'compose', createDraft: !existing, finalize: periodEnd.getTime() + graceMs <= now.getTime() };
}

/** What a finalized (or issued) invoice becomes: paid at once when nothing is due, otherwise due after the payment terms. */
export interface Finalization {
  status: 'finalized' | 'paid';
  finalizedAt: Date;
  dueAt: Date;
  paidAt: Date | null;
}

export function finalization(amountDue: DecimalInput, now: Date, paymentTermsDays: number): Finalization {
  const paidNow = new Dec(amountDue).isZero();
  return { status: paidNow ? 'paid' : 'finalized', finalizedAt: now, dueAt: new Date(now.getTime() + paymentTermsDays * 86_400_000), paidAt: paidNow ? now : null };
}

/**
 * The prepaid credits an invoice used (its document's balance after, against the balance it was composed
 * with): the wallet's new balance and the transaction's signed amount; null when it used none.
 */
export function creditWalletChange(balanceBefore: DecimalInput, balanceAfter: string): { balance: string; amount: string } | null {
  const after = new Dec(balanceAfter);
  if (after.eq(balanceBefore)) return null;
  // The balance as the document writes it (its currency's decimals), which the wallet keeps.
  return { balance: balanceAfter, amount: after.minus(balanceBefore).toFixed() };
}

/** Late units billed on an invoice as an adjustment: the difference to what was invoiced before (a credit note may have moved that meanwhile). */
export const lateUnits = (late: { units: DecimalInput; invoicedUnits: DecimalInput }): string => new Dec(late.units).minus(late.invoicedUnits).toFixed();

// ---- pause credit ------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;

/**
 * The milliseconds a period has been paused as of `now`: its closed pauses, plus a running one up to now
 * (at most the period's end). A running pause that "started" after now (a clock step back) adds nothing.
 */
export function pausedMsSoFar(period: { pausedMs: DecimalInput; pausedAt: Date | null; periodEnd: Date }, now: Date): number {
  const running = period.pausedAt ? Math.max(0, Math.min(now.getTime(), period.periodEnd.getTime()) - period.pausedAt.getTime()) : 0;
  return Number(period.pausedMs) + running;
}

/**
 * The pause credit: whole days paused, of the nominal period's days (in the customer's zone), credited at
 * the plan's base fee; none for less than a day paused or a plan without a base fee.
 */
export function pauseCreditLine(pausedMs: number, baseFee: DecimalInput, nominal: { start: Date; end: Date }, timeZone: string): InvoiceAdjustmentInput | null {
  const pausedDays = Math.floor(pausedMs / DAY_MS);
  if (pausedDays <= 0 || !new Dec(baseFee).gt(0)) return null;
  const { periodDays } = prorationDays({ periodStart: nominal.start, periodEnd: nominal.end, from: nominal.start, to: nominal.end, timeZone });
  return {
    code: 'pause_credit',
    description: `Paused ${pausedDays} of ${periodDays} days: base fee credited`,
    units: String(pausedDays),
    amount: new Dec(baseFee).times(pausedDays).div(periodDays).neg().toFixed(),
  };
}

// ---- payments ----------------------------------------------------------------------------------------

export interface PaymentReport {
  paymentId: string;
  customer: string;
  invoiceId: string;
  outcome: 'succeeded' | 'failed';
  /** As reported (a decimal string), quoted as is in a refusal. */
  amount: string;
  occurredAt: Date;
}

/** A payment id already applied, as stored. */
export interface AppliedPayment {
  customer: string;
  invoiceId: string;
  outcome: string;
  amount: string;
}

export interface PayableInvoice {
  status: InvoiceStatus;
  amountDue: string;
  paymentAttempts: number;
}

export type PaymentDecision =
  /** A person is needed: the report goes to the DLQ with the reason; nothing is remembered or changed. */
  | { kind: 'refuse'; reason: string }
  /** The same report again: nothing at all. */
  | { kind: 'duplicate' }
  /** Remembered (the id is spent), but the invoice does not change and nothing is published. */
  | { kind: 'remember' }
  | { kind: 'paid'; paidAt: Date }
  | { kind: 'failed'; attempts: number; failedAt: Date; nextAttemptAt: Date | null };

/**
 * A payment provider's report against the invoice it names. Each payment id is applied once: a re-sent
 * report changes nothing, the same id saying something else is refused. A report for no final invoice is
 * refused. A paid invoice takes any further report without change; money taken for a void invoice, or an
 * amount other than due, is refused (partial payments and refunds are not modelled); a failed payment on a
 * void invoice is remembered only.
 */
export function paymentDecision(report: PaymentReport, invoice: PayableInvoice | null, seen: AppliedPayment | null, policy: DunningPolicy): PaymentDecision {
  if (seen) {
    const same = seen.customer === report.customer && seen.invoiceId === report.invoiceId && seen.outcome === report.outcome && new Dec(seen.amount).eq(report.amount);
    if (same) return { kind: 'duplicate' };
    return {
      kind: 'refuse',
      reason: `payment "${report.paymentId}" was already applied as ${seen.outcome} of ${seen.amount} for invoice "${seen.invoiceId}"; this report says ${report.outcome} of ${report.amount} for invoice "${report.invoiceId}"`,
    };
  }
  if (!invoice || invoice.status === 'draft') return { kind: 'refuse', reason: `no finalized invoice "${report.invoiceId}" of customer "${report.customer}"` };
  if (invoice.status === 'paid') return { kind: 'remember' };
  if (invoice.status === 'void') {
    return report.outcome === 'succeeded' ? { kind: 'refuse', reason: `invoice "${report.invoiceId}" is void but a payment of ${report.amount} succeeded` } : { kind: 'remember' };
  }
  if (report.outcome === 'succeeded') {
    if (!new Dec(report.amount).eq(invoice.amountDue)) {
      return { kind: 'refuse', reason: `payment of ${report.amount} does not match the ${invoice.amountDue} due on invoice "${report.invoiceId}"` };
    }
    return { kind: 'paid', paidAt: report.occurredAt };
  }
  const attempts = invoice.paymentAttempts + 1;
  return { kind: 'failed', attempts, failedAt: report.occurredAt, nextAttemptAt: nextPaymentAttempt(attempts, report.occurredAt, policy) };
}

// ---- void --------------------------------------------------------------------------------------------

/** Only an open invoice (finalized, payment failed) can be voided: a draft is not final yet, paid and void are. */
export function voidRefusal(invoice: { status: InvoiceStatus } | null, id: string): Refusal | null {
  if (!invoice) return { status: 404, title: `no invoice "${id}"` };
  if (!isOpen(invoice.status)) return { status: 409, title: `a ${invoice.status} invoice cannot be voided` };
  return null;
}
