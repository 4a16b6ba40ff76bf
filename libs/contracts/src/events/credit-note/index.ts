import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `billing.credit-notes.v1`, keyed `<tenant>:<customer>`: a credit note issued against a finalized invoice,
 * published once when it is issued (credit notes are immutable). `reason` `usage_decreased`: usage of the
 * invoice's period went down after it was finalized (units re-bucketed out of the period, negative readings
 * of a meter that allows them); each line gives the meter's units removed (negative) and the amount credited
 * (positive). `total` (lines + tax, rounded per line) was added to the customer's prepaid credit wallet.
 */
export const creditNoteIssuedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  creditNoteId: z.string().min(1),
  number: z.string().min(1),
  invoiceId: z.string().min(1),
  invoiceNumber: z.string().min(1),
  subscriptionId: z.string().min(1),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  reason: z.enum(['usage_decreased']),
  currency: z.string().length(3),
  lines: z.array(z.object({ meter: z.string().min(1), code: z.string().min(1), description: z.string(), units: decimalString, amount: decimalString })),
  subtotal: decimalString,
  tax: decimalString,
  total: decimalString,
});

export type CreditNoteIssued = z.infer<typeof creditNoteIssuedSchema>;
