import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `alerts.usage-threshold.v1`, keyed `<tenant>:<customer>`: a threshold crossed. Each (customer, meter,
 * period, threshold) fires once; `eventId` is derived from that tuple so duplicates are recognisable.
 */
export const usageThresholdAlertSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  meter: z.string().min(1),
  periodStart: isoDateTime,
  periodEnd: isoDateTime,
  kind: z.enum(['soft', 'overage', 'hard_limit', 'forecast']),
  thresholdPercent: z.number().positive(),
  usage: decimalString,
  included: decimalString,
});

export type UsageThresholdAlert = z.infer<typeof usageThresholdAlertSchema>;
