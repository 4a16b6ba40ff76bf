import { z } from 'zod';
import { envelopeSchema } from '../../envelope';
import { HEALTH_BANDS } from '../customer-health';

export const EXPANSION_SIGNALS = ['excellent_band', 'repeated_overage'] as const;
export type ExpansionSignalKind = (typeof EXPANSION_SIGNALS)[number];

/**
 * `customers.expansion.v1`, keyed `<tenant>:<customer>`: an expansion opportunity, each once — the customer
 * entered the excellent band (power user), or went over its allowance in a new billing period after doing
 * so in another one within the last 95 days (`periodStart` names that newest period).
 */
export const expansionSignalSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  signal: z.enum(EXPANSION_SIGNALS),
  score: z.number().nonnegative(),
  band: z.enum(HEALTH_BANDS),
  reasons: z.array(z.string()),
  periodStart: z.string().min(1).optional(),
});

export type ExpansionSignal = z.infer<typeof expansionSignalSchema>;
