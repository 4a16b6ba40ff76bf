import { z } from 'zod';
import { envelopeSchema, isoDateTime } from '../../envelope';

/**
 * `TIME_WEIGHTED_SUM` is for gauges (GB stored, seats held): each reading's value is held until the next
 * reading of the same series (subject + group-by values) and summed as value x hours (GB -> GB-hours).
 */
export const AGGREGATIONS = ['SUM', 'COUNT', 'MAX', 'MIN', 'AVG', 'UNIQUE_COUNT', 'LATEST', 'TIME_WEIGHTED_SUM'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** A finite decimal, optionally with an exponent (what JavaScript writes for small numbers, e.g. `1e-7`). */
const FINITE_DECIMAL = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** The value one event contributes to one meter, extracted by ingestion from the meter definition. */
export const meterReadingSchema = z
  .object({
    meter: z.string().min(1),
    aggregation: z.enum(AGGREGATIONS),
    /** Decimal string for numeric aggregations; the raw value for UNIQUE_COUNT; null for COUNT. */
    value: z.string().nullable(),
    groupBy: z.record(z.string()).default({}),
  })
  // "NaN" or "Infinity" would be taken by decimal.js and Postgres numeric alike and poison a window for good.
  .refine((r) => r.aggregation === 'UNIQUE_COUNT' || r.aggregation === 'COUNT' || (r.value !== null && FINITE_DECIMAL.test(r.value)), {
    message: 'a numeric aggregation needs a finite decimal string value',
    path: ['value'],
  });

/**
 * `usage.events.v1`, keyed `<tenant>:<subject>`: a validated, normalized usage event with the tenant
 * stamped and the meter readings it contributes.
 */
export const usageEventSchema = envelopeSchema.extend({
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  subject: z.string().min(1),
  time: isoDateTime,
  data: z.record(z.unknown()),
  readings: z.array(meterReadingSchema),
});

export type MeterReading = z.infer<typeof meterReadingSchema>;
export type UsageEvent = z.infer<typeof usageEventSchema>;
