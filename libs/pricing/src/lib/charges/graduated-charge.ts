import type Decimal from 'decimal.js';
import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import type { GraduatedProperties, PricingRange } from './charge-properties';
import { sum, ZERO } from './pricing-decimal';

/**
 * Units billed in one range, Lago's formula (Charges::AmountDetails::RangeGraduatedService#units):
 *   total ≥ to_value      → to_value − max(from_value, 1) + 1
 *   from_value = 0        → total
 *   otherwise             → total − from_value + 1
 * As ranges are contiguous (from_value = previous to_value + 1) this is min(total, to_value) −
 * previous to_value: 0–100 then 101–200 bill 100 then 100 units, and 100.5 units bill 100 then 0.5.
 */
export function unitsInRange(range: PricingRange, total: Decimal): Decimal {
  const { fromValue, toValue } = range;
  if (toValue !== null && total.gte(toValue)) return toValue.minus(fromValue.isZero() ? 1 : fromValue).plus(1);
  if (fromValue.isZero()) return total;
  return total.minus(fromValue).plus(1);
}

/**
 * The ranges a total reaches, each with its billed units, in order. Like Lago, the walk stops at the
 * first range whose to_value is at least the total (so exactly 100 units never enter 101–200), and
 * always includes the first range (with 0 units when the total is 0).
 */
export function reachedRanges<R extends PricingRange>(ranges: readonly R[], total: Decimal): { range: R; units: Decimal }[] {
  const reached: { range: R; units: Decimal }[] = [];
  for (const range of ranges) {
    reached.push({ range, units: unitsInRange(range, total) });
    if (range.toValue === null || range.toValue.gte(total)) break;
  }
  return reached;
}

export function describeRange(index: number, range: PricingRange): string {
  return `range ${index + 1} (${range.fromValue.toFixed()}–${range.toValue?.toFixed() ?? '∞'})`;
}

/**
 * `graduated`: each range's units at its per_unit_amount, plus the range's flat_amount once the
 * range holds any units (so no flat amount at all for 0 units).
 */
export function priceGraduated({ graduatedRanges }: GraduatedProperties, { units }: ChargeInput): ChargeResult {
  const breakdown: ChargeBreakdownLine[] = reachedRanges(graduatedRanges, units).map(({ range, units: rangeUnits }, index) => {
    const flatAmount = rangeUnits.isZero() ? ZERO : range.flatAmount;
    return {
      description: describeRange(index, range),
      units: rangeUnits,
      amount: rangeUnits.times(range.perUnitAmount).plus(flatAmount),
      fromValue: range.fromValue,
      toValue: range.toValue,
      perUnitAmount: range.perUnitAmount,
      flatAmount,
    };
  });
  return { amount: sum(breakdown.map((line) => line.amount)), units, breakdown };
}
