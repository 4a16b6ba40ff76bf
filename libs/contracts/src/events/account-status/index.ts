import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

/** `billing.account-status.v1`, keyed `<tenant>:<customer>`: payment standing, for health scoring. */
export const accountStatusChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  status: z.enum(['good_standing', 'past_due', 'delinquent']),
  overdueInvoices: z.number().int().nonnegative(),
});

export type AccountStatusChanged = z.infer<typeof accountStatusChangedSchema>;
