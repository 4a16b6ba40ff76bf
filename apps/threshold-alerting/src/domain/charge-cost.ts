import { PricingDecimal, PricingError, priceCharge } from '@tally/pricing';

export interface PlanCharge {
  model: string;
  properties: Record<string, unknown>;
}

export interface ChargeCost {
  /** The meter's charge for the usage so far, unrounded (as billing prices it: units above the included ones). */
  costSoFar: string;
  /** What the units above the included ones add to the charge at zero billable units (a first range's flat amount is not overage). */
  overageCost: string;
}

/**
 * Prices the usage so far with the plan's charge, the way billing composes an invoice line: the included
 * units are free, the model prices the rest, a negative quantity costs nothing. Null when the charge
 * cannot be priced from a period total (a model needing per-event facts, properties the engine refuses):
 * spend thresholds then wait rather than fire on a wrong number.
 */
export function chargeCost(charge: PlanCharge | null | undefined, usage: string, included: string): ChargeCost | null {
  if (!charge) return null;
  const units = new PricingDecimal(usage);
  const billable = units.isNegative() ? units : PricingDecimal.max(units.minus(new PricingDecimal(included)), 0);
  try {
    const cost = priceCharge(charge.model, charge.properties, { units: billable }).amount;
    const atZero = priceCharge(charge.model, charge.properties, { units: new PricingDecimal(0) }).amount;
    return { costSoFar: cost.toFixed(), overageCost: PricingDecimal.max(0, cost.minus(atZero)).toFixed() };
  } catch (e) {
    if (e instanceof PricingError) return null;
    throw e;
  }
}
