import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import type { PackageProperties } from './charge-properties';
import { maxDecimal, minDecimal, ZERO } from './pricing-decimal';

/**
 * `package`: free_units first, then every started package of package_size units costs amount
 * (Lago's PackageService: ceil((units − free_units) / package_size) × amount; nothing when the
 * units do not exceed the free units). 100.5 paid units in packages of 100 are 2 packages.
 */
export function pricePackage({ amount, packageSize, freeUnits }: PackageProperties, { units }: ChargeInput): ChargeResult {
  const paidUnits = maxDecimal(units.minus(freeUnits), ZERO);
  // Exact ceiling division: whole packages plus one for a started package.
  const whole = paidUnits.dividedToIntegerBy(packageSize);
  const packages = paidUnits.minus(whole.times(packageSize)).isZero() ? whole : whole.plus(1);
  const total = packages.times(amount);
  const breakdown: ChargeBreakdownLine[] = [];
  if (freeUnits.gt(0)) breakdown.push({ description: 'free units', units: minDecimal(units, freeUnits), amount: ZERO });
  breakdown.push({
    description: `${packages.toFixed()} package(s) of ${packageSize.toFixed()} units at ${amount.toFixed()} per package`,
    units: paidUnits,
    amount: total,
    perUnitAmount: amount,
  });
  return { amount: total, units, breakdown };
}
