import type Decimal from 'decimal.js';
import type { ChargePricer } from '../charge-model';
import { Dec, type DecimalInput, toDec, toNonNegativeDec } from './money';

export interface LateUsageInput {
  model: string;
  properties: unknown;
  includedUnits?: DecimalInput;
  /** Units of the period already invoiced. */
  invoicedUnits: DecimalInput;
  /** Units of that period that arrived after it was invoiced. */
  lateUnits: DecimalInput;
}

/**
 * What late units add to their period's charge, unrounded: price(invoiced + late) − price(invoiced),
 * both after the included units. So late units are priced at the tier they fall in (a graduated
 * charge bills them at the marginal rate), never as if they were the period's first units.
 * The result is an adjustment's `amount` on the next invoice.
 */
export function priceLateUsage(input: LateUsageInput, priceCharge: ChargePricer): Decimal {
  const included = input.includedUnits === undefined ? new Dec(0) : toNonNegativeDec(input.includedUnits, 'includedUnits');
  // A period invoiced with a negative quantity (charged 0) may grow later: the model prices what it
  // holds then, a first range's flat amount included, as the period's invoice did not charge it.
  const invoiced = toDec(input.invoicedUnits, 'invoicedUnits');
  const late = toNonNegativeDec(input.lateUnits, 'lateUnits');
  const billable = (units: Decimal) => (units.isNegative() ? units : Dec.max(units.minus(included), 0));
  const before = priceCharge(input.model, input.properties, { units: billable(invoiced) }).amount;
  const after = priceCharge(input.model, input.properties, { units: billable(invoiced.plus(late)) }).amount;
  return new Dec(after).minus(before);
}
