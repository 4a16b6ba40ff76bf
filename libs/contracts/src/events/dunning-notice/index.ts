import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `billing.dunning-notices.v1`, keyed `<tenant>:<customer>`: what a notification sender tells the customer
 * while an invoice is unpaid.
 * - `payment_failed`: a payment failed; `nextPaymentAttemptAt` says when it is tried again;
 * - `final_notice`: a payment failed and no retry is left (`nextPaymentAttemptAt` null);
 * - `account_past_due` / `account_delinquent`: the account's standing got worse (`invoiceId` absent).
 */
export const dunningNoticeSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  notice: z.enum(['payment_failed', 'final_notice', 'account_past_due', 'account_delinquent']),
  billingEmail: z.string().nullable(),
  invoiceId: z.string().min(1).optional(),
  invoiceNumber: z.string().min(1).optional(),
  amountDue: decimalString.optional(),
  currency: z.string().length(3).optional(),
  paymentAttempts: z.number().int().nonnegative().optional(),
  nextPaymentAttemptAt: isoDateTime.nullable().optional(),
  overdueInvoices: z.number().int().nonnegative().optional(),
});

export type DunningNotice = z.infer<typeof dunningNoticeSchema>;
