import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

export const HEALTH_BANDS = ['red', 'yellow', 'green', 'excellent'] as const;
export type HealthBand = (typeof HEALTH_BANDS)[number];

/** `customers.health.v1`, keyed `<tenant>:<customer>`: a new health score and the inputs behind it. */
export const customerHealthSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  score: z.number().nonnegative(),
  band: z.enum(HEALTH_BANDS),
  /** Each weighted input's value, 0-100 (usage up to 150 with the power-user bonus). */
  inputs: z.record(z.number()),
  /** Points each input adds to the score (value × weight / 100). */
  contributions: z.record(z.number()).optional(),
  weights: z.record(z.number()).optional(),
});

export type CustomerHealth = z.infer<typeof customerHealthSchema>;
