import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `billing.invoices.v1`, keyed `<tenant>:<customer>`: an invoice's current state, published on every
 * status change. A payment provider adapter charges `amountDue` when an invoice is finalized and again
 * at `nextPaymentAttemptAt` (dunning), and reports the outcome to `billing.payments.v1`.
 */
export const invoiceChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  invoiceId: z.string().min(1),
  subscriptionId: z.string().min(1),
  status: z.enum(['draft', 'finalized', 'paid', 'payment_failed', 'void']),
  currency: z.string().length(3),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  total: decimalString,
  number: z.string().min(1).optional(),
  subtotal: decimalString.optional(),
  tax: decimalString.optional(),
  amountDue: decimalString.optional(),
  dueAt: isoDateTime.optional(),
  paymentAttempts: z.number().int().nonnegative().optional(),
  nextPaymentAttemptAt: isoDateTime.nullable().optional(),
});

export type InvoiceChanged = z.infer<typeof invoiceChangedSchema>;
