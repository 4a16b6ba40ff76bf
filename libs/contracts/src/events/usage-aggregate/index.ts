import { z } from 'zod';
import { DECIMAL_PATTERN, decimalString, envelopeKeys, envelopeSchema, isNonEmptyString, isObject, isoDateTime, isRfc3339, keyCount, withFastAccept } from '../../envelope';

export const WINDOW_KINDS = ['MINUTE', 'HOUR', 'DAY', 'PERIOD'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

/**
 * `usage.aggregates.v1`, keyed `<tenant>:<customer>:<meter>`: the new value of one window after a batch.
 * Apply idempotently: a higher `version` for the same (customer, meter, window) wins.
 *
 * `heldUnitDays` (optional, PERIOD windows of SUM meters only): Σ value × (local days from the event's
 * day to the period's last day, both included) over the window's events, days counted in the time zone
 * of the customer's subscription. Present only when the subscription charges the meter `prorated`
 * (`billing.subscriptions.v1` `proratedMeters`); a consumer divides it by the days of the period to get
 * Lago's prorated units of the period's changes. Absent on every other window and on messages written
 * before the field existed.
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
    heldUnitDays: decimalString.optional(),
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
  let optional = 0;
  if (v.heldUnitDays !== undefined) {
    if (typeof v.heldUnitDays !== 'string' || !DECIMAL_PATTERN.test(v.heldUnitDays)) return false;
    optional += 1;
  }
  return keyCount(v) === envelope + 9 + optional;
}

export type UsageAggregate = z.infer<typeof usageAggregateSchema>;
