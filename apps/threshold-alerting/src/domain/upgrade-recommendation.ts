import type { Decimal } from 'decimal.js';
import { PricingDecimal } from '@tally/pricing';
import { chargeCost } from './charge-cost';

/** A plan of a tenant as `billing.plans.v1` carries it (its latest version). */
export interface PlanTerms {
  code: string;
  currency: string;
  interval: string;
  baseFee: string;
  charges: Array<{ meter: string; model: string; properties: Record<string, unknown>; includedUnits?: string }>;
}

export interface UpgradeRecommendation {
  currentPlan: string;
  plan: string;
  currency: string;
  /** The projected period on the current plan: base fee + every charge over the projected usage (unrounded). */
  currentCost: string;
  recommendedCost: string;
  /** currentCost − recommendedCost, > 0. */
  saving: string;
}

/**
 * What a period with the given usage per meter costs on a plan: the base fee plus each charge priced by
 * `@tally/pricing` over the units above its included ones (as billing prices an invoice line; a meter
 * without usage is priced at 0 units). Null when a charge cannot be priced from a period total.
 * Minimum commitments, discounts, free tiers, coupons and taxes are not part of it.
 */
export function planCost(plan: PlanTerms, usage: ReadonlyMap<string, string>): Decimal | null {
  let total = new PricingDecimal(plan.baseFee);
  for (const charge of plan.charges) {
    const cost = chargeCost(charge, usage.get(charge.meter) ?? '0', charge.includedUnits ?? '0');
    if (!cost) return null;
    total = total.plus(cost.costSoFar);
  }
  return total;
}

/**
 * The higher plan on which the projected period costs the least, if it costs less than on the current plan.
 * "Higher" = another plan of the tenant in the same currency and interval with a higher base fee; it must
 * charge every meter of the current plan the customer uses (a plan without one does not offer it). The
 * greatest saving wins; on a tie the lower base fee, then the plan code. Null when none saves anything or
 * the current plan cannot be priced.
 */
export function recommendUpgrade(current: PlanTerms, plans: PlanTerms[], projectedUsage: ReadonlyMap<string, string>): UpgradeRecommendation | null {
  const currentCost = planCost(current, projectedUsage);
  if (currentCost === null) return null;
  const used = current.charges.map((c) => c.meter).filter((m) => new PricingDecimal(projectedUsage.get(m) ?? '0').gt(0));
  const baseFee = new PricingDecimal(current.baseFee);
  let best: { plan: PlanTerms; cost: Decimal } | null = null;
  for (const plan of plans) {
    if (plan.code === current.code || plan.currency !== current.currency || plan.interval !== current.interval) continue;
    if (!new PricingDecimal(plan.baseFee).gt(baseFee)) continue;
    if (!used.every((m) => plan.charges.some((c) => c.meter === m))) continue;
    const cost = planCost(plan, projectedUsage);
    if (cost === null || !cost.lt(currentCost)) continue;
    const better =
      best === null ||
      cost.lt(best.cost) ||
      (cost.eq(best.cost) && (new PricingDecimal(plan.baseFee).lt(best.plan.baseFee) || (new PricingDecimal(plan.baseFee).eq(best.plan.baseFee) && plan.code < best.plan.code)));
    if (better) best = { plan, cost };
  }
  if (!best) return null;
  return {
    currentPlan: current.code,
    plan: best.plan.code,
    currency: current.currency,
    currentCost: currentCost.toFixed(),
    recommendedCost: best.cost.toFixed(),
    saving: currentCost.minus(best.cost).toFixed(),
  };
}
