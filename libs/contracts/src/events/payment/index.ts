import { z } from 'zod';
import { decimalString, envelopeSchema } from '../../envelope';

/** `billing.payments.v1`, keyed `<tenant>:<customer>`: what the payment provider reported. */
export const paymentReportedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  invoiceId: z.string().min(1),
  outcome: z.enum(['succeeded', 'failed']),
  amount: decimalString,
  reason: z.string().optional(),
});

export type PaymentReported = z.infer<typeof paymentReportedSchema>;
