import type { ChargeInput, ChargeResult } from '../charge-model';
import { PricingError } from '../charge-model';
import type { VolumeProperties } from './charge-properties';
import { describeRange } from './graduated-charge';
import { ZERO } from './pricing-decimal';

/**
 * `volume`: every unit at the per_unit_amount of the range the total lands in, plus that range's
 * flat_amount; 0 units cost nothing (no flat amount). Lago's match (VolumeService#matching_range):
 * from_value ≤ ceil(units) and units ≤ to_value, so 100.5 units with 0–100 / 101–∞ land in 101–∞.
 */
export function priceVolume({ volumeRanges }: VolumeProperties, { units }: ChargeInput): ChargeResult {
  const roundedUp = units.ceil();
  const index = volumeRanges.findIndex(
    (range) => range.fromValue.lte(roundedUp) && (range.toValue === null || units.lte(range.toValue)),
  );
  if (index < 0) throw new PricingError(`no volume range holds ${units.toFixed()} units`);
  const range = volumeRanges[index];
  const flatAmount = units.isZero() ? ZERO : range.flatAmount;
  const amount = units.times(range.perUnitAmount).plus(flatAmount);
  return {
    amount,
    units,
    breakdown: [
      {
        description: describeRange(index, range),
        units,
        amount,
        fromValue: range.fromValue,
        toValue: range.toValue,
        perUnitAmount: range.perUnitAmount,
        flatAmount,
      },
    ],
  };
}
