import { z } from 'zod';
import type Decimal from 'decimal.js';
import { PricingDecimal } from '@tally/pricing';
import { decimalValueIssue, PLAN_LIMITS } from './plan-limits';

/** Plain decimal notation only: no sign, exponent, spaces or thousands separators ("33.3", "0.4", "100"). */
const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;
/** Longer than any value the bounds allow (10^15 with 20 decimals): refused before any decimal is built from it. */
const MAX_DECIMAL_CHARS = 40;

/**
 * An exact decimal from a JSON number or a decimal string, or the reason it is not one. A JSON number is read
 * through its shortest decimal spelling (33.3 stays 33.3); NaN and Infinity (what `1e999` parses to) are refused.
 */
function exactDecimal(value: number | string): { value: Decimal } | { issue: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { issue: 'must be a finite number' };
    return { value: new PricingDecimal(String(value)) };
  }
  if (value.length > MAX_DECIMAL_CHARS || !PLAIN_DECIMAL.test(value)) return { issue: 'must be a decimal like 33.3 or "33.3"' };
  return { value: new PricingDecimal(value) };
}

/** A positive bounded decimal: a percentage (number or decimal string), or units or money (decimal string, as every plan amount). */
function positive(kind: 'percent'): z.ZodType<number | string>;
function positive(kind: 'quantity' | 'amount'): z.ZodType<string>;
function positive(kind: 'percent' | 'quantity' | 'amount'): z.ZodType<number | string> {
  const input: z.ZodType<number | string> = kind === 'percent' ? z.union([z.number(), z.string()]) : z.string();
  return input.superRefine((raw, ctx) => {
    const parsed = exactDecimal(raw);
    if ('issue' in parsed) {
      ctx.addIssue({ code: 'custom', message: kind === 'percent' ? parsed.issue : 'must be a decimal string like "12.50"' });
      return;
    }
    if (!parsed.value.gt(0)) {
      ctx.addIssue({ code: 'custom', message: 'must be greater than 0' });
      return;
    }
    if (kind === 'percent') {
      if (parsed.value.gt(PLAN_LIMITS.maxThresholdPercent)) ctx.addIssue({ code: 'custom', message: `must be at most ${PLAN_LIMITS.maxThresholdPercent}, got ${parsed.value.toFixed()}` });
      else if (parsed.value.decimalPlaces() > PLAN_LIMITS.maxThresholdDecimalPlaces) {
        ctx.addIssue({ code: 'custom', message: `must have at most ${PLAN_LIMITS.maxThresholdDecimalPlaces} decimal places` });
      }
      return;
    }
    const issue = decimalValueIssue(parsed.value.toFixed(), kind);
    if (issue) ctx.addIssue({ code: 'custom', message: issue });
  });
}

/**
 * A list of distinct thresholds. The length is checked before any element is parsed, so a huge list is one
 * issue rather than one per element; "33.3", 33.3 and "33.30" are the same threshold (a repeat is refused,
 * not silently dropped, so the plan stored is the plan written).
 */
function distinctList<T extends number | string>(element: z.ZodType<T>, noun: string) {
  return z
    .array(z.unknown())
    .max(PLAN_LIMITS.maxThresholds)
    .pipe(z.array(element))
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((v) => {
        // Zod still refines a list whose elements were refused: those are reported already.
        const parsed = exactDecimal(v);
        if ('issue' in parsed) return;
        const key = parsed.value.toFixed();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', message: `must not repeat ${noun} (${key})` });
        seen.add(key);
      });
    });
}

/**
 * Soft-alert percentages of the included units, exact (threshold-alerting compares them as decimals and
 * names them `percent:33.3`): numbers or decimal strings, > 0 and ≤ 1000, kept as written.
 */
export const thresholdPercentsSchema = distinctList(positive('percent'), 'a percentage');

/**
 * Alerts beyond the percentages, as `billing.subscriptions.v1` carries them to threshold-alerting: usage
 * amounts (`absolute`), money spent on the charge (`spend`, priced with the charge), and steps every N units
 * (after the last fixed unit threshold) or every N money (after the last spend threshold).
 */
export const chargeAlertsSchema = z
  .object({
    absolute: distinctList(positive('quantity'), 'an amount').optional(),
    spend: distinctList(positive('amount'), 'an amount').optional(),
    stepUnits: positive('quantity').optional(),
    stepSpend: positive('amount').optional(),
  })
  .strict();

export type ChargeAlerts = z.infer<typeof chargeAlertsSchema>;
