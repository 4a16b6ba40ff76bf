import Decimal from 'decimal.js';
import { type ChargeInput, PricingError } from '../charge-model';
import { toPricingDecimal } from './pricing-decimal';

function checkQuantity(value: unknown, path: string): Decimal {
  if (!Decimal.isDecimal(value)) throw new PricingError(`${path} must be a Decimal`);
  const decimal = value as Decimal;
  if (!decimal.isFinite()) throw new PricingError(`${path} must be a finite number, got ${decimal.toString()}`);
  if (decimal.isNegative() && !decimal.isZero()) throw new PricingError(`${path} must not be negative, got "${decimal.toFixed()}"`);
  return toPricingDecimal(decimal);
}

/**
 * Checks units (and events, when given) are finite and not negative, and copies them into the
 * engine's Decimal clone so every operation runs at its precision.
 */
export function normalizeChargeInput(input: ChargeInput): ChargeInput {
  if (typeof input !== 'object' || input === null) throw new PricingError('input must be an object with units');
  const units = checkQuantity(input.units, 'units');
  if (input.events === undefined) return { units };
  if (!Array.isArray(input.events)) throw new PricingError('events must be an array of Decimals');
  return { units, events: input.events.map((event, index) => checkQuantity(event, `events[${index}]`)) };
}
