import type { ChargeInput, ChargeResult } from '../charge-model';
import { PricingError } from '../charge-model';
import type { DynamicProperties } from './charge-properties';
import { ZERO } from './pricing-decimal';

/**
 * `dynamic` (Lago's DynamicService): the price is carried by the events; the charge is the sum of
 * their amounts. Like Lago, nothing is charged when the units (the metric's sum) are 0, whatever
 * amounts the events carry; and a negative sum (corrections outweighing charges) is charged as 0,
 * Lago's rule for any fee with a negative amount (lago-api#2966), shown on the breakdown.
 */
export function priceDynamic(_properties: DynamicProperties, { units, eventAmountTotal }: ChargeInput): ChargeResult {
  if (eventAmountTotal === undefined) {
    throw new PricingError('eventAmountTotal is required by the dynamic charge model (the sum of the amounts the events carry)');
  }
  if (units.isZero()) {
    return { amount: ZERO, units, breakdown: [{ description: `0 units: the events' amounts (${eventAmountTotal.toFixed()}) are not charged`, units, amount: ZERO }] };
  }
  if (eventAmountTotal.isNegative()) {
    return { amount: ZERO, units, breakdown: [{ description: `negative amount ${eventAmountTotal.toFixed()} of the events charged as 0`, units, amount: ZERO }] };
  }
  return { amount: eventAmountTotal, units, breakdown: [{ description: "sum of the events' amounts", units, amount: eventAmountTotal }] };
}
