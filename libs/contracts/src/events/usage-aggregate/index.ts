import { z } from 'zod';
import { DECIMAL_PATTERN, decimalString, envelopeKeys, envelopeSchema, isNonEmptyString, isObject, isoDateTime, isRfc3339, keyCount, withFastAccept } from '../../envelope';

export const WINDOW_KINDS = ['MINUTE', 'HOUR', 'DAY', 'PERIOD'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

/**
 * `usage.aggregates.v1`, keyed `<tenant>:<customer>:<meter>`: the new value of one window after a batch.
 * Apply idempotently: a higher `version` for the same (customer, meter, window) wins.
 */
export const usageAggregateSchema = withFastAccept(
  envelopeSchema.extend({
    customer: z.string().min(1),
    meter: z.string().min(1),
    windowKind: z.enum(WINDOW_KINDS),
    windowStart: isoDateTime,
    windowEnd: isoDateTime,
    value: decimalString,
    eventCount: z.number().int().nonnegative(),
    lastEventTime: isoDateTime,
    version: z.number().int().positive(),
  }),
  acceptsUsageAggregateUnchanged,
);

const WINDOW_KIND_SET: ReadonlySet<unknown> = new Set(WINDOW_KINDS);

/** usageAggregateSchema's fast check (see withFastAccept): true only for what the schema returns unchanged. */
export function acceptsUsageAggregateUnchanged(v: unknown): boolean {
  if (!isObject(v)) return false;
  const envelope = envelopeKeys(v);
  if (envelope < 0) return false;
  if (!isNonEmptyString(v.customer) || !isNonEmptyString(v.meter) || !WINDOW_KIND_SET.has(v.windowKind)) return false;
  if (!isRfc3339(v.windowStart) || !isRfc3339(v.windowEnd) || !isRfc3339(v.lastEventTime)) return false;
  if (typeof v.value !== 'string' || !DECIMAL_PATTERN.test(v.value)) return false;
  if (!Number.isInteger(v.eventCount) || (v.eventCount as number) < 0 || !Number.isInteger(v.version) || (v.version as number) < 1) return false;
  return keyCount(v) === envelope + 9;
}

export type UsageAggregate = z.infer<typeof usageAggregateSchema>;
