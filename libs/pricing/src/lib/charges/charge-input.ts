import Decimal from 'decimal.js';
import { type ChargeInput, PricingError } from '../charge-model';
import { toPricingDecimal } from './pricing-decimal';

function checkFinite(value: unknown, path: string): Decimal {
  if (!Decimal.isDecimal(value)) throw new PricingError(`${path} must be a Decimal`);
  const decimal = value as Decimal;
  if (!decimal.isFinite()) throw new PricingError(`${path} must be a finite number, got ${decimal.toString()}`);
  return toPricingDecimal(decimal);
}

function checkQuantity(value: unknown, path: string): Decimal {
  const decimal = checkFinite(value, path);
  if (decimal.isNegative()) throw new PricingError(`${path} must not be negative, got "${decimal.toFixed()}"`);
  return decimal;
}

/**
 * Checks units are finite and events (when given) finite and not negative, and copies them into the
 * engine's Decimal clone so every operation runs at its precision. Negative units are let through:
 * `priceCharge` prices them as zero units (see its doc).
 */
export function normalizeChargeInput(input: ChargeInput): ChargeInput {
  if (typeof input !== 'object' || input === null) throw new PricingError('input must be an object with units');
  const units = checkFinite(input.units, 'units');
  if (input.events === undefined) return { units };
  if (!Array.isArray(input.events)) throw new PricingError('events must be an array of Decimals');
  return { units, events: input.events.map((event, index) => checkQuantity(event, `events[${index}]`)) };
}
