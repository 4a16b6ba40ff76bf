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

function checkEventCount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new PricingError(`eventCount must be a whole number of events, zero or more, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks units are finite, events (when given) finite and not negative, the event count a whole
 * number (and the number of events when both are given), the events' amount total finite; copies
 * the decimals into the engine's Decimal clone so every operation runs at its precision. Negative
 * units (and a negative amount total, a correction) are let through: `priceCharge` prices them as
 * zero (see its doc).
 */
export function normalizeChargeInput(input: ChargeInput): ChargeInput {
  if (typeof input !== 'object' || input === null) throw new PricingError('input must be an object with units');
  const normalized: ChargeInput = { units: checkFinite(input.units, 'units') };
  if (input.events !== undefined) {
    if (!Array.isArray(input.events)) throw new PricingError('events must be an array of Decimals');
    normalized.events = input.events.map((event, index) => checkQuantity(event, `events[${index}]`));
  }
  if (input.eventCount !== undefined) {
    normalized.eventCount = checkEventCount(input.eventCount);
    if (normalized.events && normalized.events.length !== normalized.eventCount) {
      throw new PricingError(`eventCount (${normalized.eventCount}) must equal the number of events (${normalized.events.length})`);
    }
  } else if (normalized.events) {
    normalized.eventCount = normalized.events.length;
  }
  if (input.eventAmountTotal !== undefined) normalized.eventAmountTotal = checkFinite(input.eventAmountTotal, 'eventAmountTotal');
  return normalized;
}
