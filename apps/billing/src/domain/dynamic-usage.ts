import { Dec, priceCharge } from '@tally/pricing';
import type Decimal from 'decimal.js';

/** What a finalized period billed for a dynamic charge (invoiced_usage): its units and its amount meter's usage. */
export interface DynamicBilled {
  units: string;
  amount: string;
}

export interface DynamicCorrection {
  meter: string;
  amountMeter: string;
  /** The period's change of units since it was billed (ledger − billed), any sign. */
  units: string;
  /** The change of the amount meter's period usage since it was billed, any sign. */
  amountUsage: string;
  /** price(now) − price(billed), unrounded: positive bills more, negative credits. */
  amount: Decimal;
  description: string;
}

/**
 * A finalized period's dynamic charge re-priced after its units or its amount meter's usage moved (late events):
 * the price of the period now minus what was billed, both priced as the invoice prices the charge
 * (`usage: { units, eventAmountTotal }`), so Lago's rules hold on both sides: nothing at 0 units, a negative
 * amount total charged 0. Null when nothing moved.
 */
export function dynamicCorrection(
  charge: { meter: string; model: string; properties: unknown },
  amountMeter: string,
  billed: DynamicBilled,
  ledger: DynamicBilled,
  periodStart: Date,
): DynamicCorrection | null {
  const units = new Dec(ledger.units).minus(billed.units);
  const amountUsage = new Dec(ledger.amount).minus(billed.amount);
  if (units.isZero() && amountUsage.isZero()) return null;
  const price = (u: DynamicBilled) => new Dec(priceCharge(charge.model, charge.properties, { units: new Dec(u.units), eventAmountTotal: new Dec(u.amount) }).amount);
  const amount = price(ledger).minus(price(billed));
  const signed = (d: Decimal) => `${d.isNegative() ? '' : '+'}${d.toFixed()}`;
  return {
    meter: charge.meter,
    amountMeter,
    units: units.toFixed(),
    amountUsage: amountUsage.toFixed(),
    amount,
    description: `${charge.meter}: usage in the period from ${periodStart.toISOString()} changed after it was invoiced (${signed(units)} units, ${signed(amountUsage)} ${amountMeter}), dynamic`,
  };
}
