import type Decimal from 'decimal.js';
import { PricingDecimal, type ChargeProperties, type PricingRange } from '@tally/pricing';

/**
 * Bounds on what a plan may say, checked when it is created, so nothing a plan holds can overflow
 * further down: range bounds and counts must stay exact JavaScript integers, and invoices must stay readable. Far beyond any real price list.
 */
export const PLAN_LIMITS = {
  /** Any money amount: base fee, commitment, free tier, per-unit, flat, package and fixed amounts. */
  maxAmount: new PricingDecimal('1000000000000'),
  /** Decimal places of any amount or quantity (a unit price of 0.00000012 has 8). */
  maxDecimalPlaces: 20,
  /** Tier bounds, package sizes, free units, included units. */
  maxQuantity: new PricingDecimal('1000000000000000'),
  /** Percentage rates of the percentage models. */
  maxRatePercent: new PricingDecimal(100),
  /** Threshold percentages: exact decimals (threshold-alerting stores numeric), at most this and this many decimals. */
  maxThresholdPercent: 1000,
  maxThresholdDecimalPlaces: 10,
  maxThresholds: 20,
  maxCharges: 100,
} as const;

export interface PlanValueIssue {
  path: Array<string | number>;
  message: string;
}

type Bound = 'amount' | 'quantity' | 'rate';

function check(issues: PlanValueIssue[], path: Array<string | number>, value: Decimal, bound: Bound): void {
  const max = bound === 'amount' ? PLAN_LIMITS.maxAmount : bound === 'quantity' ? PLAN_LIMITS.maxQuantity : PLAN_LIMITS.maxRatePercent;
  if (value.gt(max)) issues.push({ path, message: `must be at most ${max.toFixed()}, got ${value.toFixed()}` });
  else if (value.decimalPlaces() > PLAN_LIMITS.maxDecimalPlaces) {
    issues.push({ path, message: `must have at most ${PLAN_LIMITS.maxDecimalPlaces} decimal places, got ${value.decimalPlaces()}` });
  }
}

/** A plan-level decimal string (baseFee, minimumCommitment...) against its bound. */
export function decimalValueIssue(value: string, bound: Bound): string | null {
  const issues: PlanValueIssue[] = [];
  check(issues, [], new PricingDecimal(value), bound);
  return issues[0]?.message ?? null;
}

function checkRanges<R extends PricingRange>(issues: PlanValueIssue[], key: string, ranges: readonly R[], extra: (r: R, at: Array<string | number>) => void): void {
  ranges.forEach((range, i) => {
    const at = ['properties', key, i];
    check(issues, [...at, 'from_value'], range.fromValue, 'quantity');
    if (range.toValue !== null) check(issues, [...at, 'to_value'], range.toValue, 'quantity');
    check(issues, [...at, 'flat_amount'], range.flatAmount, 'amount');
    extra(range, at);
  });
}

/** Every value of a charge's validated properties against its bound, paths in Lago's property names. */
export function chargeValueIssues(charge: ChargeProperties): PlanValueIssue[] {
  const issues: PlanValueIssue[] = [];
  switch (charge.model) {
    case 'standard':
      check(issues, ['properties', 'amount'], charge.properties.amount, 'amount');
      break;
    case 'graduated':
      checkRanges(issues, 'graduated_ranges', charge.properties.graduatedRanges, (r, at) => check(issues, [...at, 'per_unit_amount'], r.perUnitAmount, 'amount'));
      break;
    case 'volume':
      checkRanges(issues, 'volume_ranges', charge.properties.volumeRanges, (r, at) => check(issues, [...at, 'per_unit_amount'], r.perUnitAmount, 'amount'));
      break;
    case 'graduated_percentage':
      checkRanges(issues, 'graduated_percentage_ranges', charge.properties.graduatedPercentageRanges, (r, at) => check(issues, [...at, 'rate'], r.rate, 'rate'));
      break;
    case 'package':
      check(issues, ['properties', 'amount'], charge.properties.amount, 'amount');
      check(issues, ['properties', 'package_size'], charge.properties.packageSize, 'quantity');
      check(issues, ['properties', 'free_units'], charge.properties.freeUnits, 'quantity');
      break;
    case 'percentage': {
      const p = charge.properties;
      check(issues, ['properties', 'rate'], p.rate, 'rate');
      check(issues, ['properties', 'fixed_amount'], p.fixedAmount, 'amount');
      check(issues, ['properties', 'free_units_per_events'], new PricingDecimal(p.freeUnitsPerEvents), 'quantity');
      check(issues, ['properties', 'free_units_per_total_aggregation'], p.freeUnitsPerTotalAggregation, 'amount');
      if (p.perTransactionMinAmount) check(issues, ['properties', 'per_transaction_min_amount'], p.perTransactionMinAmount, 'amount');
      if (p.perTransactionMaxAmount) check(issues, ['properties', 'per_transaction_max_amount'], p.perTransactionMaxAmount, 'amount');
      break;
    }
  }
  return issues;
}
