import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/** A positive decimal, bounded in length so no producer can make a consumer compute with a million digits. */
const positiveDecimal = decimalString.refine((v) => v.length <= 40 && !v.startsWith('-') && /[1-9]/.test(v), 'must be a positive decimal of at most 40 characters');

/**
 * A percentage of the included quantity: a JSON number (33.3) or, to carry any decimal exactly, a decimal
 * string ("33.3"). Consumers compare it as a decimal, never rounded.
 */
export const thresholdPercentSchema = z.union([z.number().positive().finite().max(1e9), positiveDecimal]);

/** Alerts beyond the percentages, all optional (threshold-alerting's README describes each kind). */
export const entitlementAlertsSchema = z.object({
  /** Fixed usage amounts (units of the meter). */
  absolute: z.array(positiveDecimal).max(20).optional(),
  /** Amounts of money spent on this meter's charge so far (needs `charge`), in the subscription's currency. */
  spend: z.array(positiveDecimal).max(20).optional(),
  /** Every N units after the last fixed unit threshold (percentages, absolute). */
  stepUnits: positiveDecimal.optional(),
  /** Every N money after the last spend threshold (needs `charge`). */
  stepSpend: positiveDecimal.optional(),
});

export const entitlementSchema = z.object({
  meter: z.string().min(1),
  /** Included quantity for the period; thresholds are percentages of it. */
  included: decimalString,
  /** Percentages that raise soft alerts; 100 raises the overage notice. */
  thresholds: z.array(thresholdPercentSchema).max(100).default([50, 75, 90, 100]),
  /** A hard limit makes the entitlement check deny use at 100 %. */
  hardLimit: z.boolean().default(false),
  alerts: entitlementAlertsSchema.optional(),
  /** How the plan prices this meter (Lago charge model and properties): spend and overage cost alerts price with it. */
  charge: z.object({ model: z.string().min(1).max(100), properties: z.record(z.unknown()) }).optional(),
});

/**
 * `billing.subscriptions.v1` (compacted), keyed `<tenant>:<customer>:<subscriptionId>`: one subscription's
 * current state, its period bounds and entitlements (a customer may hold several, on distinct meters).
 * Aggregation reads period bounds (and the time zone and prorated meters) from it, threshold-alerting the
 * entitlements.
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
  /**
   * The customer's IANA time zone, in which the periods are cut and a prorated charge counts its days.
   * Absent on messages written before the field existed (aggregation then maintains no proration).
   */
  timeZone: z.string().min(1).max(100).optional(),
  /**
   * Meters the plan charges `prorated` (Lago's prorated charges): aggregation maintains `heldUnitDays` on
   * their PERIOD windows (SUM meters only). Absent or empty: none.
   */
  proratedMeters: z.array(z.string().min(1).max(200)).max(100).optional(),
});

export type Entitlement = z.infer<typeof entitlementSchema>;
export type EntitlementAlerts = z.infer<typeof entitlementAlertsSchema>;
export type SubscriptionChanged = z.infer<typeof subscriptionChangedSchema>;
