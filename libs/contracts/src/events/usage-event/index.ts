import { z } from 'zod';
import { envelopeKeys, envelopeSchema, hasProtoKey, isNonEmptyString, isObject, isoDateTime, isRfc3339, keyCount, withFastAccept } from '../../envelope';

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
export const usageEventSchema = withFastAccept(
  envelopeSchema.extend({
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.string().min(1),
    subject: z.string().min(1),
    time: isoDateTime,
    data: z.record(z.unknown()),
    readings: z.array(meterReadingSchema),
  }),
  acceptsUsageEventUnchanged,
);

const AGGREGATION_SET: ReadonlySet<unknown> = new Set(AGGREGATIONS);

/** usageEventSchema's fast check (see withFastAccept): true only for what the schema returns unchanged. */
export function acceptsUsageEventUnchanged(v: unknown): boolean {
  if (!isObject(v)) return false;
  const envelope = envelopeKeys(v);
  if (envelope < 0) return false;
  if (!isNonEmptyString(v.id) || !isNonEmptyString(v.source) || !isNonEmptyString(v.type) || !isNonEmptyString(v.subject) || !isRfc3339(v.time)) return false;
  if (!isObject(v.data) || hasProtoKey(v.data) || !Array.isArray(v.readings)) return false;
  for (const r of v.readings) if (!acceptsReadingUnchanged(r)) return false;
  return keyCount(v) === envelope + 7;
}

function acceptsReadingUnchanged(r: unknown): boolean {
  if (!isObject(r) || !isNonEmptyString(r.meter) || !AGGREGATION_SET.has(r.aggregation)) return false;
  const value = r.value;
  if (value === null) {
    if (r.aggregation !== 'COUNT' && r.aggregation !== 'UNIQUE_COUNT') return false;
  } else if (typeof value !== 'string' || (r.aggregation !== 'COUNT' && r.aggregation !== 'UNIQUE_COUNT' && !FINITE_DECIMAL.test(value))) {
    return false;
  }
  // Without groupBy the schema fills in {}: not unchanged.
  const groupBy = r.groupBy;
  if (!isObject(groupBy) || hasProtoKey(groupBy)) return false;
  for (const key in groupBy) if (typeof groupBy[key] !== 'string') return false;
  return keyCount(r) === 4;
}

export type MeterReading = z.infer<typeof meterReadingSchema>;
export type UsageEvent = z.infer<typeof usageEventSchema>;
