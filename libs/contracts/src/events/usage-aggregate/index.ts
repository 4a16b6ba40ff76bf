import { z } from 'zod';
import { decimalString, envelopeSchema, isoDateTime } from '../../envelope';

export const WINDOW_KINDS = ['MINUTE', 'HOUR', 'DAY', 'PERIOD'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

/**
 * `usage.aggregates.v1`, keyed `<tenant>:<customer>:<meter>`: the new value of one window after a batch.
 * Apply idempotently: a higher `version` for the same (customer, meter, window) wins.
 */
export const usageAggregateSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  meter: z.string().min(1),
  windowKind: z.enum(WINDOW_KINDS),
  windowStart: isoDateTime,
  windowEnd: isoDateTime,
  value: decimalString,
  eventCount: z.number().int().nonnegative(),
  lastEventTime: isoDateTime,
  version: z.number().int().positive(),
});

export type UsageAggregate = z.infer<typeof usageAggregateSchema>;
