import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { parseDecimal } from '../charges/charge-properties';
import { PricingDecimal, toPricingDecimal, ZERO } from '../charges/pricing-decimal';

/**
 * The invoice's Decimal is the engine's: 60 significant digits, so no intermediate step (a proration factor,
 * a percentage, a projection) ever rounds; the only rounding is `roundToMinorUnit` when a line is finalized.
 */
export const Dec = PricingDecimal;
export type Dec = Decimal;

export { sum } from '../charges/pricing-decimal';

/** A decimal amount or quantity: a decimal string ("12.50") or a Decimal. Never a binary float. */
export type DecimalInput = string | Decimal;

/** An instant: a Date or an ISO 8601 string with an offset ("2025-03-01T00:00:00+01:00"). */
export type Instant = Date | string;

/**
 * Parses a decimal input with the same rules as plan properties (`parseDecimal`: plain decimal notation,
 * no hex or NaN), naming the field in the error; -0 becomes 0.
 */
export function toDec(value: DecimalInput, field: string): Decimal {
  if (!Decimal.isDecimal(value)) return parseDecimal(value, field);
  const d = value as Decimal;
  if (!d.isFinite()) throw new PricingError(`${field} must be finite, got ${d.toString()}`);
  return toPricingDecimal(d);
}

export function toNonNegativeDec(value: DecimalInput, field: string): Decimal {
  const d = toDec(value, field);
  if (d.isNegative()) throw new PricingError(`${field} must not be negative, got ${JSON.stringify(d.toFixed())}`);
  return d.isZero() ? ZERO : d;
}

export function toInstant(value: Instant, field: string): Date {
  const d = value instanceof Date ? new Date(value.getTime()) : new Date(value);
  if (Number.isNaN(d.getTime())) throw new PricingError(`${field} must be a valid instant, got ${JSON.stringify(String(value))}`);
  return d;
}

/** Plain decimal notation, never exponent notation ("0.0000001", not "1e-7"). */
export function plain(d: Decimal): string {
  return d.toFixed();
}
