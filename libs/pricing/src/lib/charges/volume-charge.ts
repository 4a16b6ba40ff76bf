import type { ChargeInput, ChargeResult } from '../charge-model';
import { PricingError } from '../charge-model';
import type Decimal from 'decimal.js';
import type { PriceRange, VolumeProperties } from './charge-properties';
import { describeRange } from './graduated-charge';

/**
 * `volume`: every unit at the per_unit_amount of the range the total lands in, plus that range's
 * flat_amount, also at 0 units (the first range's: Lago since lago-api#5760). Lago's match
 * (VolumeService#matching_range): from_value ≤ ceil(units) and units ≤ to_value, so 100.5 units
 * with 0–100 / 101–∞ land in 101–∞.
 */
export function priceVolume({ volumeRanges }: VolumeProperties, { units }: ChargeInput): ChargeResult {
  return priceVolumeIn(volumeRanges, units, units);
}

/** The index of the range `units` land in (VolumeService#matching_range). */
export function matchingVolumeRange(volumeRanges: readonly PriceRange[], units: Decimal): number {
  const roundedUp = units.ceil();
  const index = volumeRanges.findIndex((range) => range.fromValue.lte(roundedUp) && (range.toValue === null || units.lte(range.toValue)));
  if (index < 0) throw new PricingError(`no volume range holds ${units.toFixed()} units`);
  return index;
}

/**
 * `units` priced at the range `matchUnits` land in, plus its flat amount. They differ for a prorated
 * charge: Lago matches the range on the full units held (VolumeService#number_of_units is
 * full_units_number when the charge is prorated) and prices the prorated units.
 */
export function priceVolumeIn(volumeRanges: readonly PriceRange[], matchUnits: Decimal, units: Decimal): ChargeResult {
  const index = matchingVolumeRange(volumeRanges, matchUnits);
  const range = volumeRanges[index];
  const flatAmount = range.flatAmount;
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
