import type { ChargeInput, ChargeResult } from '../charge-model';
import type { StandardProperties } from './charge-properties';

/** `standard`: units × amount (Lago's StandardService). */
export function priceStandard({ amount }: StandardProperties, { units }: ChargeInput): ChargeResult {
  const total = units.times(amount);
  return {
    amount: total,
    units,
    breakdown: [{ description: `${units.toFixed()} units × ${amount.toFixed()}`, units, amount: total, perUnitAmount: amount }],
  };
}
