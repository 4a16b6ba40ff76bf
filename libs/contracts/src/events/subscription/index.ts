import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

export const entitlementSchema = z.object({
  meter: z.string().min(1),
  /** Included quantity for the period; thresholds are percentages of it. */
  included: decimalString,
  /** Percentages that raise soft alerts; 100 raises the overage notice. */
  thresholds: z.array(z.number().positive()).default([50, 75, 90, 100]),
  /** A hard limit makes the entitlement check deny use at 100 %. */
  hardLimit: z.boolean().default(false),
});

/**
 * `billing.subscriptions.v1` (compacted), keyed `<tenant>:<customer>:<subscriptionId>`: one subscription's
 * current state, its period bounds and entitlements (a customer may hold several, on distinct meters).
 * Aggregation reads period bounds from it, threshold-alerting the entitlements.
 */
export const subscriptionChangedSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  subscriptionId: z.string().min(1),
  plan: z.string().min(1),
  status: z.enum(['active', 'paused', 'canceled']),
  planVersion: z.number().int().positive().optional(),
  currency: z.string().length(3).optional(),
  /** Set when the subscription ends at the end of the current period. */
  cancelAtPeriodEnd: z.boolean().optional(),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  entitlements: z.array(entitlementSchema),
});

export type Entitlement = z.infer<typeof entitlementSchema>;
export type SubscriptionChanged = z.infer<typeof subscriptionChangedSchema>;
