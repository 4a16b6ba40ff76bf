import type { ChargeInput, ChargePricer, ChargeResult } from '../charge-model';
import { normalizeChargeInput } from './charge-input';
import { type ChargeProperties, validateChargeProperties } from './charge-properties';
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
 * A negative quantity (a meter summing negative values: corrections, returns) is priced as zero units
 * in every model — no amount, no flat amount, no package — and the result keeps the real quantity in
 * `units` and a first breakdown row saying so. Like Lago (lago-api#2966: a negative fee's units and
 * amount become 0, the calculation kept in its details), a meter is never a way to credit money;
 * credits are granted explicitly. `percentage` needs per-event amounts, which must not be negative.
 * @throws PricingError for an unknown model, invalid properties, non-finite units, or missing or negative events.
 */
export const priceCharge: ChargePricer = (model: string, properties: unknown, input: ChargeInput): ChargeResult => {
  const charge = validateChargeProperties(model, properties);
  const normalized = normalizeChargeInput(input);
  if (normalized.units.isNegative() && charge.model !== 'percentage') {
    const atZero = priceModel(charge, { units: ZERO });
    const note = { description: `negative quantity ${normalized.units.toFixed()} priced as 0 units`, units: normalized.units, amount: ZERO };
    return { amount: atZero.amount, units: normalized.units, breakdown: [note, ...atZero.breakdown] };
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
  }
}
