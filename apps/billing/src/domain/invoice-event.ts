import type { InvoiceChanged } from '@tally/contracts';
import type { Invoice as InvoiceDocument } from '@tally/pricing';
import type { InvoiceStatus } from './invoice-lifecycle';
import type { EventStamp } from './subscription-event';

/** An invoice as the lifecycle and its event see it (the stored row, in domain names). */
export interface InvoiceState {
  tenant: string;
  invoiceId: string;
  /** The draft's placeholder until it is finalized. */
  number: string;
  customer: string;
  subscriptionId: string;
  periodStart: Date;
  periodEnd: Date;
  currency: string;
  status: InvoiceStatus;
  document: Pick<InvoiceDocument, 'total' | 'subtotal' | 'tax' | 'amountDue'>;
  dueAt: Date | null;
  paymentAttempts: number;
  nextPaymentAttemptAt: Date | null;
}

/**
 * `billing.invoices.v1`: the invoice's whole current state, published on each status change — a new draft,
 * finalization (or issue of a progressive or adjustment invoice), a payment that succeeded or failed, a void;
 * not a draft's re-pricing, nor a payment report that changes nothing. A draft has no number yet (its
 * placeholder is not one); the due date once there is one.
 */
export function invoiceChanged(invoice: InvoiceState, stamp: EventStamp): InvoiceChanged {
  return {
    eventId: stamp.eventId,
    occurredAt: stamp.occurredAt.toISOString(),
    tenant: invoice.tenant,
    customer: invoice.customer,
    invoiceId: invoice.invoiceId,
    subscriptionId: invoice.subscriptionId,
    status: invoice.status,
    currency: invoice.currency,
    periodStart: invoice.periodStart.toISOString(),
    periodEnd: invoice.periodEnd.toISOString(),
    total: invoice.document.total,
    subtotal: invoice.document.subtotal,
    tax: invoice.document.tax,
    amountDue: invoice.document.amountDue,
    ...(invoice.status === 'draft' ? {} : { number: invoice.number }),
    ...(invoice.dueAt ? { dueAt: invoice.dueAt.toISOString() } : {}),
    paymentAttempts: invoice.paymentAttempts,
    nextPaymentAttemptAt: invoice.nextPaymentAttemptAt?.toISOString() ?? null,
  };
}
