import type { ChargeInput, ChargePricer, ChargeResult } from '../charge-model';
import { normalizeChargeInput } from './charge-input';
import { validateChargeProperties } from './charge-properties';
import { priceGraduated } from './graduated-charge';
import { priceGraduatedPercentage } from './graduated-percentage-charge';
import { pricePackage } from './package-charge';
import { pricePercentage } from './percentage-charge';
import { priceStandard } from './standard-charge';
import { priceVolume } from './volume-charge';

/**
 * Prices one charge: validates the model's Lago-style properties and the input, then dispatches to
 * the model. The result is unrounded; invoice lines round when they are finalized.
 * @throws PricingError for an unknown model, invalid properties, negative units or missing events.
 */
export const priceCharge: ChargePricer = (model: string, properties: unknown, input: ChargeInput): ChargeResult => {
  const charge = validateChargeProperties(model, properties);
  const normalized = normalizeChargeInput(input);
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
};
