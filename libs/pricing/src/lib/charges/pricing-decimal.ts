import Decimal from 'decimal.js';

/**
 * The engine's private Decimal: 60 significant digits, so sums and products of real prices and
 * quantities are exact (a product only rounds past 60 digits). Every operation is called on an
 * instance of this clone, because decimal.js rounds to the precision of the left operand's
 * constructor (the shared default is only 20 digits).
 */
export const PricingDecimal = Decimal.clone({ precision: 60 });

export const ZERO = new PricingDecimal(0);
export const HUNDRED = new PricingDecimal(100);

/** Copies a Decimal from any constructor into the engine's clone, exactly; -0 becomes 0. */
export function toPricingDecimal(value: Decimal): Decimal {
  return value.isZero() ? ZERO : new PricingDecimal(value);
}

export function sum(values: readonly Decimal[]): Decimal {
  return values.reduce((total, value) => total.plus(value), ZERO);
}

export function minDecimal(a: Decimal, b: Decimal): Decimal {
  return a.lte(b) ? a : b;
}

export function maxDecimal(a: Decimal, b: Decimal): Decimal {
  return a.gte(b) ? a : b;
}
