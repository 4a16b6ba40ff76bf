import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import type { GraduatedPercentageProperties } from './charge-properties';
import { describeRange, reachedRanges } from './graduated-charge';
import { HUNDRED, sum, ZERO } from './pricing-decimal';

/**
 * `graduated_percentage`: like `graduated`, on the summed amount (units), with a rate (in %) per
 * range instead of a per-unit amount: range units × rate / 100, plus the range's flat_amount once
 * the range holds any units (Lago's GraduatedPercentageService). Events are not needed.
 */
export function priceGraduatedPercentage({ graduatedPercentageRanges }: GraduatedPercentageProperties, { units }: ChargeInput): ChargeResult {
  const breakdown: ChargeBreakdownLine[] = reachedRanges(graduatedPercentageRanges, units).map(({ range, units: rangeUnits }, index) => {
    const flatAmount = rangeUnits.isZero() ? ZERO : range.flatAmount;
    return {
      description: describeRange(index, range),
      units: rangeUnits,
      amount: rangeUnits.times(range.rate).dividedBy(HUNDRED).plus(flatAmount),
      fromValue: range.fromValue,
      toValue: range.toValue,
      rate: range.rate,
      flatAmount,
    };
  });
  return { amount: sum(breakdown.map((line) => line.amount)), units, breakdown };
}
