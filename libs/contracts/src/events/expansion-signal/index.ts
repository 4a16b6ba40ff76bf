import { z } from 'zod';
import { decimalString, envelopeSchema } from '../../envelope';
import { HEALTH_BANDS } from '../customer-health';

export const EXPANSION_SIGNALS = ['excellent_band', 'repeated_overage', 'upgrade_recommended'] as const;
export type ExpansionSignalKind = (typeof EXPANSION_SIGNALS)[number];

/**
 * `customers.expansion.v1`, keyed `<tenant>:<customer>`: an expansion opportunity, each once — the customer
 * entered the excellent band (power user), or went over its allowance in a new billing period after doing
 * so in another one within the last 95 days (`periodStart` names that newest period), or threshold-alerting
 * recommended a higher plan that would cost it less (`upgrade_recommended`, once per period and plan:
 * `periodStart` and `recommendedPlan`; `score`/`band` are absent while the customer has no score yet).
 */
export const expansionSignalSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  signal: z.enum(EXPANSION_SIGNALS),
  score: z.number().nonnegative().optional(),
  band: z.enum(HEALTH_BANDS).optional(),
  reasons: z.array(z.string()),
  periodStart: z.string().min(1).optional(),
  recommendedPlan: z.string().min(1).optional(),
  /** What the recommended plan saves over the current one in the projected period (decimal, in `currency`). */
  saving: decimalString.optional(),
  currency: z.string().length(3).optional(),
});

export type ExpansionSignal = z.infer<typeof expansionSignalSchema>;
