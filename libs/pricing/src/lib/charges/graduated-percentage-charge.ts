import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import type { GraduatedPercentageProperties } from './charge-properties';
import { describeRange, reachedRanges } from './graduated-charge';
import { HUNDRED, sum } from './pricing-decimal';

/**
 * `graduated_percentage`: like `graduated`, on the summed amount (units), with a rate (in %) per
 * range instead of a per-unit amount: range units × rate / 100 plus the range's flat_amount, the
 * first range's flat amount also at 0 units (Lago's GraduatedPercentageService, lago-api#5760).
 * Adjacent ranges hold to − from units, as in `graduated` (Lago's RangeGraduatedPercentageService
 * adds 1 there; see the README's differences). Events are not needed.
 */
export function priceGraduatedPercentage({ graduatedPercentageRanges, rangeBounds }: GraduatedPercentageProperties, { units }: ChargeInput): ChargeResult {
  const reached = reachedRanges(graduatedPercentageRanges, units, rangeBounds);
  const breakdown: ChargeBreakdownLine[] = reached.map(({ range, units: rangeUnits }, index) => ({
    description: describeRange(index, range),
    units: rangeUnits,
    amount: rangeUnits.times(range.rate).dividedBy(HUNDRED).plus(range.flatAmount),
    fromValue: range.fromValue,
    toValue: range.toValue,
    rate: range.rate,
    flatAmount: range.flatAmount,
  }));
  return { amount: sum(breakdown.map((line) => line.amount)), units, breakdown };
}
