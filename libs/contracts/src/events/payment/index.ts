import { z } from 'zod';
import { decimalString, envelopeSchema } from '../../envelope';

/** `billing.payments.v1`, keyed `<tenant>:<customer>`: what the payment provider reported. */
export const paymentReportedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  /** The provider's id of this payment: billing applies each once (a re-sent report changes nothing). Defaults to eventId. */
  paymentId: z.string().min(1).max(200).optional(),
  invoiceId: z.string().min(1),
  outcome: z.enum(['succeeded', 'failed']),
  amount: decimalString,
  reason: z.string().optional(),
});

export type PaymentReported = z.infer<typeof paymentReportedSchema>;
