import { z } from 'zod';
import { envelopeSchema } from '../../envelope';
import { HEALTH_BANDS } from '../customer-health';

/** `customers.churn-risk.v1`, keyed `<tenant>:<customer>`: a customer at risk (entered yellow or red, or dropped sharply), with the reasons. */
export const churnRiskChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  previousBand: z.enum(HEALTH_BANDS).nullable(),
  band: z.enum(HEALTH_BANDS),
  score: z.number().nonnegative(),
  /** The inputs that cost the most points, worded for a customer-success manager. */
  reasons: z.array(z.string()),
  /** `entered_band`: first scored in, or fell into, yellow or red; `sharp_drop`: 15+ points below the week's high. */
  trigger: z.enum(['entered_band', 'sharp_drop']).optional(),
  previousScore: z.number().nonnegative().nullable().optional(),
  /** Red: a CSM reviews the account now; otherwise automated (e-mail/in-app) guidance. */
  recommendedAction: z.enum(['csm_review_now', 'automated_guidance']).optional(),
});

export type ChurnRiskChanged = z.infer<typeof churnRiskChangedSchema>;
