import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';

/**
 * The invoice's own Decimal: 60 significant digits, so no intermediate step (a proration factor, a
 * percentage, a projection) ever rounds; the only rounding is `roundToMinorUnit` when a line is finalized.
 */
export const Dec = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
export type Dec = Decimal;

/** A decimal amount or quantity: a decimal string ("12.50") or a Decimal. Never a binary float. */
export type DecimalInput = string | Decimal;

/** An instant: a Date or an ISO 8601 string with an offset ("2025-03-01T00:00:00+01:00"). */
export type Instant = Date | string;

/** Parses a decimal input, naming the field in the error when it is not a finite number. */
export function toDec(value: DecimalInput, field: string): Decimal {
  let d: Decimal;
  try {
    d = new Dec(value);
  } catch {
    throw new PricingError(`${field} must be a decimal number, got ${JSON.stringify(String(value))}`);
  }
  if (!d.isFinite()) throw new PricingError(`${field} must be finite, got ${d.toString()}`);
  return d;
}

export function toNonNegativeDec(value: DecimalInput, field: string): Decimal {
  const d = toDec(value, field);
  if (d.isNegative()) throw new PricingError(`${field} must not be negative, got ${d.toFixed()}`);
  return d;
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

export function sum(values: Decimal[]): Decimal {
  return values.reduce((acc, v) => acc.plus(v), new Dec(0));
}
