import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

export const ALERT_KINDS = ['soft', 'overage', 'hard_limit', 'absolute', 'spend', 'step', 'recovered', 'forecast'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * `alerts.usage-threshold.v1`, keyed `<tenant>:<customer>`: a threshold crossed (or, `recovered`, fallen back
 * below). Each (customer, meter, period, threshold) fires once — again only after it recovered and re-armed,
 * with a higher `generation`; `eventId` is derived from that tuple so duplicates are recognisable.
 */
export const usageThresholdAlertSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  meter: z.string().min(1),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  kind: z.enum(ALERT_KINDS),
  /** Percent-of-included thresholds only (soft, overage, hard_limit, and a recovery from one); `threshold` is exact. */
  thresholdPercent: z.number().positive().optional(),
  /** The threshold, exact: a percent of included, a usage amount or an amount of money (see `thresholdUnit`). */
  threshold: decimalString.optional(),
  thresholdUnit: z.enum(['percent', 'units', 'money']).optional(),
  /** For `recovered`: the kind of the threshold that re-armed. */
  recoveredKind: z.enum(['soft', 'overage', 'hard_limit', 'absolute', 'spend', 'step']).optional(),
  /** 1 the first time the threshold fires in the period, +1 each time it fires again after a recovery. */
  generation: z.number().int().positive().optional(),
  usage: decimalString,
  included: decimalString,
  /** Run-rate projection of the period-end usage. */
  projected: decimalString.optional(),
  /**
   * The forecast of the period-end usage (run-rate blended with the recent daily trend, threshold-alerting's
   * `usage-forecast.ts`), when there was enough data: always on `forecast` alerts.
   */
  projectedUsage: decimalString.optional(),
  /**
   * On `forecast` and `overage` alerts: a higher plan of the tenant (same currency and interval, higher base
   * fee) on which the projected period would cost less than on the current one, and the saving.
   */
  recommendation: z
    .object({
      currentPlan: z.string().min(1),
      plan: z.string().min(1),
      currency: z.string().length(3),
      currentCost: decimalString,
      recommendedCost: decimalString,
      saving: decimalString,
    })
    .optional(),
  /** This meter's charge for the usage so far (unrounded, in `currency`), when the plan's charge is known. */
  costSoFar: decimalString.optional(),
  /** What the units above the included ones cost so far (overage alerts). */
  overageCost: decimalString.optional(),
  currency: z.string().length(3).optional(),
});

export type UsageThresholdAlert = z.infer<typeof usageThresholdAlertSchema>;
