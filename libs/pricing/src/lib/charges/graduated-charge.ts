import type Decimal from 'decimal.js';
import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import type { GraduatedProperties, PricingRange, RangeBounds } from './charge-properties';
import { sum } from './pricing-decimal';

/**
 * Units billed in one range, Lago's formula (ChargeModels::AmountDetails::RangeGraduatedService#units):
 *   capped = min(total, to_value)
 *   from_value = 0     → capped
 *   adjacent ranges    → capped − from_value          (0–0.1, 0.1–1: a range holds to − from)
 *   inclusive ranges   → capped − from_value + 1      (0–100, 101–200: both bounds count)
 * Either way that is min(total, to_value) − previous to_value: 0–100 then 101–200 bill 100 then 100
 * units, 100.5 units bill 100 then 0.5; 0–0.1 then 0.1–1 bill 0.1 then 0.9.
 */
export function unitsInRange(range: PricingRange, total: Decimal, rangeBounds: RangeBounds = 'inclusive'): Decimal {
  const { fromValue, toValue } = range;
  const capped = toValue !== null && total.gte(toValue) ? toValue : total;
  if (fromValue.isZero()) return capped;
  const difference = capped.minus(fromValue);
  return rangeBounds === 'adjacent' ? difference : difference.plus(1);
}

/**
 * The ranges a total reaches, each with its billed units, in order. Like Lago, the walk stops at the
 * first range whose to_value is at least the total (so exactly 100 units never enter 101–200), and
 * always includes the first range (with 0 units when the total is 0).
 */
export function reachedRanges<R extends PricingRange>(ranges: readonly R[], total: Decimal, rangeBounds: RangeBounds): { range: R; units: Decimal }[] {
  const reached: { range: R; units: Decimal }[] = [];
  for (const range of ranges) {
    reached.push({ range, units: unitsInRange(range, total, rangeBounds) });
    if (range.toValue === null || range.toValue.gte(total)) break;
  }
  return reached;
}

export function describeRange(index: number, range: PricingRange): string {
  return `range ${index + 1} (${range.fromValue.toFixed()}–${range.toValue?.toFixed() ?? '∞'})`;
}

/**
 * `graduated`: each reached range's units at its per_unit_amount, plus its flat_amount. The first
 * range is always reached, so 0 units cost the first range's flat amount (Lago since lago-api#5760:
 * a first-tier flat amount is a platform fee, charged whatever the usage).
 */
export function priceGraduated({ graduatedRanges, rangeBounds }: GraduatedProperties, { units }: ChargeInput): ChargeResult {
  const breakdown: ChargeBreakdownLine[] = reachedRanges(graduatedRanges, units, rangeBounds).map(({ range, units: rangeUnits }, index) => ({
    description: describeRange(index, range),
    units: rangeUnits,
    amount: rangeUnits.times(range.perUnitAmount).plus(range.flatAmount),
    fromValue: range.fromValue,
    toValue: range.toValue,
    perUnitAmount: range.perUnitAmount,
    flatAmount: range.flatAmount,
  }));
  return { amount: sum(breakdown.map((line) => line.amount)), units, breakdown };
}
