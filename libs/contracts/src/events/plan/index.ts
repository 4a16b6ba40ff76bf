import { z } from 'zod';
import { decimalString, envelopeSchema } from '../../envelope';

/** A plan's charge of one meter as billing prices it: Lago's model and properties, and the units included free. */
export const publishedPlanChargeSchema = z.object({
  meter: z.string().min(1),
  model: z.string().min(1).max(100),
  properties: z.record(z.unknown()),
  includedUnits: decimalString.optional(),
});

/**
 * `billing.plans.v1` (compacted), keyed `<tenant>:<planCode>`: the latest version of one plan of a tenant,
 * published by billing whenever a version is created. Consumers keep the highest `version` per key.
 */
export const planChangedSchema = envelopeSchema.extend({
  planCode: z.string().min(1),
  version: z.number().int().positive(),
  name: z.string().min(1).optional(),
  currency: z.string().length(3),
  interval: z.enum(['monthly', 'yearly']),
  baseFee: decimalString,
  charges: z.array(publishedPlanChargeSchema),
});

export type PublishedPlanCharge = z.infer<typeof publishedPlanChargeSchema>;
export type PlanChanged = z.infer<typeof planChangedSchema>;

export const planKey = (tenant: string, planCode: string): string => `${tenant}:${planCode}`;
