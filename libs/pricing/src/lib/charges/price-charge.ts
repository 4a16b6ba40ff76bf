import type { ChargeInput, ChargePricer, ChargeResult } from '../charge-model';
import { normalizeChargeInput } from './charge-input';
import { type ChargeProperties, validateChargeProperties } from './charge-properties';
import { priceDynamic } from './dynamic-charge';
import { priceGraduated } from './graduated-charge';
import { priceGraduatedPercentage } from './graduated-percentage-charge';
import { pricePackage } from './package-charge';
import { pricePercentage } from './percentage-charge';
import { priceStandard } from './standard-charge';
import { ZERO } from './pricing-decimal';
import { priceVolume } from './volume-charge';

/**
 * Prices one charge: validates the model's Lago-style properties and the input, then dispatches to
 * the model. The result is unrounded; invoice lines round when they are finalized.
 *
 * A negative quantity (a meter summing negative values: corrections, returns) costs nothing in
 * every model — no amount, no flat amount, no package — and the result keeps the real quantity in
 * `units` and a breakdown row saying so. Like Lago (lago-api#2966: a fee with negative units or
 * amount is created with units and amount 0), a meter is never a way to credit money; credits are
 * granted explicitly. Zero units, in contrast, are priced by the model (a first range's flat amount
 * is charged at 0 units). Events, when given, must not be negative.
 * @throws PricingError for an unknown model, invalid properties, non-finite units, or missing or negative events.
 */
export const priceCharge: ChargePricer = (model: string, properties: unknown, input: ChargeInput): ChargeResult => {
  const charge = validateChargeProperties(model, properties);
  const normalized = normalizeChargeInput(input);
  if (normalized.units.isNegative() && normalized.events === undefined) {
    const note = { description: `negative quantity ${normalized.units.toFixed()} charged as 0`, units: normalized.units, amount: ZERO };
    return { amount: ZERO, units: normalized.units, breakdown: [note] };
  }
  return priceModel(charge, normalized);
};

function priceModel(charge: ChargeProperties, normalized: ChargeInput): ChargeResult {
  switch (charge.model) {
    case 'standard':
      return priceStandard(charge.properties, normalized);
    case 'graduated':
      return priceGraduated(charge.properties, normalized);
    case 'volume':
      return priceVolume(charge.properties, normalized);
    case 'package':
      return pricePackage(charge.properties, normalized);
    case 'percentage':
      return pricePercentage(charge.properties, normalized);
    case 'graduated_percentage':
      return priceGraduatedPercentage(charge.properties, normalized);
    case 'dynamic':
      return priceDynamic(charge.properties, normalized);
  }
}
