import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/** `billing.invoices.v1`, keyed `<tenant>:<customer>`: an invoice's current state. */
export const invoiceChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  invoiceId: z.string().min(1),
  subscriptionId: z.string().min(1),
  status: z.enum(['draft', 'finalized', 'paid', 'payment_failed', 'void']),
  currency: z.string().length(3),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  total: decimalString,
});

export type InvoiceChanged = z.infer<typeof invoiceChangedSchema>;
