import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `billing.payment-retries.v1`, keyed `<tenant>:<customer>`: billing asks the payment provider adapter to
 * charge an invoice again, once per scheduled attempt, when its `nextPaymentAttemptAt` has come. The
 * adapter reports the outcome to `billing.payments.v1` as for the first attempt. `attempt` (2 for the
 * first retry) with `invoiceId` identifies the request: a redelivered one must not charge twice.
 */
export const paymentRetryRequestedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  invoiceId: z.string().min(1),
  invoiceNumber: z.string().min(1),
  attempt: z.number().int().min(2),
  amountDue: decimalString,
  currency: z.string().length(3),
  scheduledAt: isoDateTime,
});

export type PaymentRetryRequested = z.infer<typeof paymentRetryRequestedSchema>;
