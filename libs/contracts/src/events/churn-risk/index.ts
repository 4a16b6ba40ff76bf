import { z } from 'zod';
import { envelopeSchema } from '../../envelope';
import { HEALTH_BANDS } from '../customer-health';

/** `customers.churn-risk.v1`, keyed `<tenant>:<customer>`: the health band changed, with the reasons. */
export const churnRiskChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  previousBand: z.enum(HEALTH_BANDS).nullable(),
  band: z.enum(HEALTH_BANDS),
  score: z.number().nonnegative(),
  reasons: z.array(z.string()),
});

export type ChurnRiskChanged = z.infer<typeof churnRiskChangedSchema>;
