import { Decimal } from 'decimal.js';

export type ThresholdKind = 'soft' | 'overage' | 'hard_limit';

export interface ThresholdPolicy {
  /** Included quantity for the period (decimal string). */
  included: string;
  /** Percentages of `included`; the default plan policy is 50, 75, 90 and 100. */
  thresholds: number[];
  hardLimit: boolean;
}

export interface CrossedThreshold {
  percent: number;
  kind: ThresholdKind;
}

/**
 * Which thresholds the usage has reached and that have not fired yet in this period. Reaching exactly
 * the threshold counts (90 of 100 fires 90 %). Below 100 % a threshold is a soft alert; at 100 % and
 * above it is the overage notice, or the hard limit when the entitlement has one. With nothing
 * included, any usage is over every threshold.
 */
export function crossedThresholds(usage: string, policy: ThresholdPolicy, alreadyFired: ReadonlySet<number>): CrossedThreshold[] {
  const used = new Decimal(usage);
  const included = new Decimal(policy.included);
  const crossed: CrossedThreshold[] = [];
  for (const percent of [...new Set(policy.thresholds)].sort((a, b) => a - b)) {
    if (alreadyFired.has(percent)) continue;
    const reached = included.isZero() ? used.gt(0) : used.gte(included.mul(percent).div(100));
    if (!reached) continue;
    crossed.push({ percent, kind: percent < 100 ? 'soft' : policy.hardLimit ? 'hard_limit' : 'overage' });
  }
  return crossed;
}
