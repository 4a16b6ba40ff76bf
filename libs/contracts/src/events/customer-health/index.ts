import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

export const HEALTH_BANDS = ['red', 'yellow', 'green', 'excellent'] as const;
export type HealthBand = (typeof HEALTH_BANDS)[number];

/** `customers.health.v1`, keyed `<tenant>:<customer>`: a new health score and the inputs behind it. */
export const customerHealthSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  score: z.number().nonnegative(),
  band: z.enum(HEALTH_BANDS),
  inputs: z.record(z.number()),
});

export type CustomerHealth = z.infer<typeof customerHealthSchema>;
