import { Dec, type Invoice } from '@tally/pricing';
import type { InvoiceKind, InvoiceRow, InvoiceStatus } from './invoice.repository';

/** An invoice as the API answers it (and the HTML and PDF render it). */
export interface InvoiceView {
  id: string;
  number: string | null;
  kind: InvoiceKind;
  /** A progressive invoice's highest threshold reached (plan currency) and how many threshold levels of the period it covers so far. */
  threshold?: { amount: string; levels: number };
  customer: string;
  subscriptionId: string;
  status: InvoiceStatus;
  periodStart: string;
  periodEnd: string;
  currency: string;
  issuedAt: string | null;
  dueAt: string | null;
  paidAt: string | null;
  paymentAttempts: number;
  nextPaymentAttemptAt: string | null;
  document: Invoice;
}

export function view(row: InvoiceRow): InvoiceView {
  return {
    id: row.invoice_id,
    number: row.status === 'draft' ? null : row.number,
    kind: row.kind,
    ...(row.kind === 'progressive' && row.threshold_level !== null && row.threshold_amount !== null
      ? { threshold: { amount: new Dec(row.threshold_amount).toFixed(), levels: row.threshold_level } }
      : {}),
    customer: row.customer,
    subscriptionId: row.subscription_id,
    status: row.status,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    currency: row.currency,
    issuedAt: row.finalized_at?.toISOString() ?? null,
    dueAt: row.due_at?.toISOString() ?? null,
    paidAt: row.paid_at?.toISOString() ?? null,
    paymentAttempts: row.payment_attempts,
    nextPaymentAttemptAt: row.next_payment_attempt_at?.toISOString() ?? null,
    document: row.document,
  };
}
