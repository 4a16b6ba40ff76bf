import { Dec, formatMinor, minorUnits, roundToMinorUnit, type DecimalInput } from '@tally/pricing';

/**
 * Progressive billing (Lago's "usage thresholds", `LifetimeUsages::UsageThresholds::CheckService`): a plan
 * declares spend thresholds; when the amount of usage so far in the running period reaches one, a
 * "progressive" invoice is issued at once for that amount, net of what earlier progressive invoices of the
 * period billed; the period's own invoice is then net of all of them.
 *
 * The levels, in order: the fixed thresholds ascending, then — with a recurring amount r — the largest fixed
 * threshold (0 without any) + r, + 2r, ... A level is reached when the amount is at least its threshold
 * (Lago: `amount_cents <= total_usage`). Each level is invoiced at most once per period, and several levels
 * reached at once make one invoice.
 *
 * A plan change mid-period: the plan in force decides (its thresholds, its prices for the whole period's usage,
 * as the period's invoice prices it); its levels at or below what was already invoiced count as passed
 * (levelsPassed), so a change never invoices the same spend twice. A plan without thresholds issues no more.
 *
 * Deliberate differences from Lago:
 * - Lago measures thresholds on the subscription's lifetime usage (every period's usage added up); Tally on
 *   the running period's usage, so every period starts again below the first threshold.
 * - Lago's first recurring step is the largest threshold + r, but the next ones are where the total reaches a
 *   multiple of r (`invoiced_usage % r`), so they depend on the amounts billed before; Tally's recurring levels
 *   stay at largest + k·r, a function of the plan alone.
 */
export interface ProgressiveBillingTerms {
  /** Amounts, in the plan's currency, of usage so far in the period (before discounts and tax). */
  thresholds?: readonly DecimalInput[];
  /** Every further `recurring` amount above the largest threshold is a level too. */
  recurring?: DecimalInput;
}

/** What was already invoiced progressively in the period. */
export interface ProgressiveState {
  /** Levels recorded by the period's progressive invoices so far (0: none), void ones included: a running count, so each invoice records more. */
  levelsInvoiced: number;
  /** The highest threshold a progressive invoice of the period was issued for (void ones included); null when none. */
  highestThreshold: DecimalInput | null;
  /** What the period's progressive invoices billed before coupons and tax (their subtotals), voided ones excluded. */
  billedAmount: DecimalInput;
}

export type ProgressiveDecision =
  | { invoice: false; reason: 'no_new_threshold' | 'nothing_new_to_bill'; levelsReached: number }
  | {
      invoice: true;
      /** Levels of the plan's terms the amount reaches now. */
      levelsReached: number;
      /** What the new invoice records: the period's levels so far plus those crossed now (with unchanged terms, levelsReached). */
      levelsRecorded: number;
      /** The thresholds reached since the last progressive invoice, lowest and highest (the same when one). */
      lowestCrossed: string;
      highestCrossed: string;
      crossedCount: number;
      amountSoFar: string;
      alreadyBilled: string;
      /** amountSoFar − alreadyBilled: the new invoice's amount before coupons and tax. */
      amountToBill: string;
    };

const MAX_THRESHOLDS = 20;
const MAX_AMOUNT = new Dec('1000000000000');

function sortedThresholds(terms: ProgressiveBillingTerms): Dec[] {
  return [...(terms.thresholds ?? [])].map((t) => new Dec(t)).sort((a, b) => a.cmp(b));
}

/** The problems of a plan's terms, each with the path of the field; none when valid. */
export function progressiveBillingIssues(terms: ProgressiveBillingTerms, currency: string): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const decimals = minorUnits(currency);
  const check = (value: DecimalInput, path: Array<string | number>) => {
    let d: Dec;
    try {
      d = new Dec(value);
    } catch {
      issues.push({ path, message: 'must be a decimal amount' });
      return;
    }
    if (!d.isFinite() || d.lte(0)) issues.push({ path, message: 'must be more than 0' });
    else if (d.gt(MAX_AMOUNT)) issues.push({ path, message: `must be at most ${MAX_AMOUNT.toFixed()}` });
    else if (d.decimalPlaces() > decimals) issues.push({ path, message: `has more decimals than ${currency} has (${decimals})` });
  };
  const thresholds = terms.thresholds ?? [];
  if (thresholds.length === 0 && terms.recurring === undefined) issues.push({ path: [], message: 'needs thresholds, a recurring amount or both' });
  if (thresholds.length > MAX_THRESHOLDS) issues.push({ path: ['thresholds'], message: `at most ${MAX_THRESHOLDS} thresholds` });
  thresholds.forEach((t, i) => check(t, ['thresholds', i]));
  if (terms.recurring !== undefined) check(terms.recurring, ['recurring']);
  if (issues.length === 0) {
    const seen = new Set<string>();
    thresholds.forEach((t, i) => {
      const key = new Dec(t).toFixed();
      if (seen.has(key)) issues.push({ path: ['thresholds', i], message: `threshold ${key} is listed twice` });
      seen.add(key);
    });
  }
  return issues;
}

/** The amount of level n (1-based): the n-th fixed threshold, then the recurring ones; null when there is none. */
export function levelAmount(terms: ProgressiveBillingTerms, level: number): string | null {
  if (!Number.isSafeInteger(level) || level < 1) throw new Error(`level must be a positive integer, got ${level}`);
  const fixed = sortedThresholds(terms);
  if (level <= fixed.length) return fixed[level - 1].toFixed();
  if (terms.recurring === undefined) return null;
  const base = fixed.length > 0 ? fixed[fixed.length - 1] : new Dec(0);
  return base.plus(new Dec(terms.recurring).times(level - fixed.length)).toFixed();
}

/** How many levels an amount has reached (at least their threshold). */
export function levelsReached(terms: ProgressiveBillingTerms, amount: DecimalInput): number {
  const a = new Dec(amount);
  const fixed = sortedThresholds(terms);
  const reachedFixed = fixed.filter((t) => a.gte(t)).length;
  if (terms.recurring === undefined) return reachedFixed;
  const base = fixed.length > 0 ? fixed[fixed.length - 1] : new Dec(0);
  if (a.lt(base)) return reachedFixed;
  const recurring = a.minus(base).div(terms.recurring).floor();
  if (!recurring.lte(Number.MAX_SAFE_INTEGER - fixed.length)) throw new Error(`amount ${a.toFixed()} reaches more levels than can be counted`);
  return fixed.length + recurring.toNumber();
}

/**
 * The levels of `terms` that count as passed already: those at or below the highest threshold invoiced in the
 * period or the amount its progressive invoices billed, whichever is higher. With the terms unchanged, exactly
 * the levels invoiced (an invoice records every level its amount reached); after a plan change mid-period, the
 * new plan's thresholds that the spend already invoiced covers (Lago: a threshold passes when its amount is
 * above the usage already invoiced, `LifetimeUsages::UsageThresholds::CheckService`).
 */
export function levelsPassed(terms: ProgressiveBillingTerms, state: Pick<ProgressiveState, 'highestThreshold' | 'billedAmount'>): number {
  const covered = Dec.max(new Dec(state.highestThreshold ?? 0), new Dec(state.billedAmount));
  return covered.gt(0) ? levelsReached(terms, covered) : 0;
}

/**
 * Whether the period's usage so far calls for a progressive invoice now. `amountSoFar` is the period's usage
 * fees so far (rounded lines, before discounts and tax), in the plan's currency, priced on the plan in force
 * (the terms are that plan's).
 * - No level beyond those passed (levelsPassed): nothing — also when usage went down after an invoice and
 *   came back up.
 * - New levels but the amount is not above what was billed: nothing (a guard; new levels lie above it).
 * - Otherwise one invoice for amountSoFar − alreadyBilled, recording every level reached.
 */
export function progressiveInvoiceDue(terms: ProgressiveBillingTerms, amountSoFar: DecimalInput, state: ProgressiveState, currency: string): ProgressiveDecision {
  const amount = roundToMinorUnit(amountSoFar, currency);
  const reached = levelsReached(terms, amount);
  const passed = levelsPassed(terms, state);
  if (reached <= passed) return { invoice: false, reason: 'no_new_threshold', levelsReached: reached };
  const billed = new Dec(state.billedAmount);
  const toBill = amount.minus(billed);
  if (toBill.lte(0)) return { invoice: false, reason: 'nothing_new_to_bill', levelsReached: reached };
  return {
    invoice: true,
    levelsReached: reached,
    levelsRecorded: state.levelsInvoiced + (reached - passed),
    lowestCrossed: levelAmount(terms, passed + 1)!,
    highestCrossed: levelAmount(terms, reached)!,
    crossedCount: reached - passed,
    amountSoFar: formatMinor(amount, currency),
    alreadyBilled: formatMinor(billed, currency),
    amountToBill: formatMinor(toBill, currency),
  };
}

/** The line that makes an invoice net of the period's progressive invoices (an adjustment, before tax). */
export function progressiveCreditLine(invoices: number, billedAmount: DecimalInput, currency: string): { code: string; description: string; units: string; amount: string } | null {
  const billed = new Dec(billedAmount);
  if (invoices === 0 || billed.isZero()) return null;
  return {
    code: 'progressive_billing',
    description: `Already billed progressively in this period (${invoices} invoice${invoices === 1 ? '' : 's'})`,
    units: String(invoices),
    amount: formatMinor(billed.neg(), currency),
  };
}
