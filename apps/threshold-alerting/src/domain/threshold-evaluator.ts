import type { Decimal } from 'decimal.js';
import { PricingDecimal } from '@tally/pricing';

/** 60 significant digits (the pricing engine's): an included quantity × a percentage never rounds. */
const D = PricingDecimal;

/** Kinds of threshold that fire when reached (`recovered` is the alert when one of them falls back below). */
export type ThresholdKind = 'soft' | 'overage' | 'hard_limit' | 'absolute' | 'spend' | 'step';
export type ThresholdUnit = 'percent' | 'units' | 'money';

export interface ThresholdPolicy {
  /** Included quantity for the period (decimal string). */
  included: string;
  /** Percentages of `included` (decimal strings or numbers, compared exactly); the default plan policy is 50, 75, 90 and 100. */
  thresholds: Array<string | number>;
  hardLimit: boolean;
  /** Fixed usage amounts. */
  absolute?: string[];
  /** Amounts of money spent on the meter's charge. */
  spend?: string[];
  /** Every N units after the last fixed unit threshold. */
  stepUnits?: string;
  /** Every N money after the last spend threshold. */
  stepSpend?: string;
}

/** What is known of the period when evaluating: usage, and the charge so far when the plan's price is known. */
export interface PeriodState {
  usage: string;
  /** Null when the meter's charge is unknown or cannot be priced from period totals: spend thresholds wait. */
  spend: string | null;
}

/** A threshold that fired this period; `active` is false once it recovered (re-armed). */
export interface FiredThreshold {
  generation: number;
  active: boolean;
}

export interface Threshold {
  /** Stable id within a (customer, meter, period): `percent:33.3`, `absolute:5000`, `spend:100`, `step-units:1200`, `step-spend:300`. */
  id: string;
  kind: ThresholdKind;
  unit: ThresholdUnit;
  /** The threshold as configured (percent, units or money), exact. */
  value: string;
}

export interface Evaluation {
  /** Thresholds reached that are not active: fire them (ascending within each kind). */
  fire: Threshold[];
  /** Active thresholds no longer reached: re-arm them, with a `recovered` alert unless `silent` (steps). */
  recover: Array<Threshold & { silent: boolean }>;
}

const canonical = (v: string | number | Decimal): string => new D(typeof v === 'number' ? String(v) : v).toFixed();
const sortedUnique = (values: Array<string | number>): Decimal[] => {
  const seen = new Map<string, Decimal>();
  for (const v of values) seen.set(canonical(v), new D(canonical(v)));
  return [...seen.values()].sort((a, b) => a.comparedTo(b));
};

/** Parses a threshold id back to its kind family and trigger value; null for an id this code does not know. */
export function parseThresholdId(id: string): { family: 'percent' | 'absolute' | 'spend' | 'step-units' | 'step-spend'; value: Decimal } | null {
  const m = /^(percent|absolute|spend|step-units|step-spend):(-?\d+(?:\.\d+)?)$/.exec(id);
  return m ? { family: m[1] as 'percent', value: new D(m[2]) } : null;
}

/**
 * Which thresholds to fire and which to re-arm, from the period's usage (and spend) as it is now — the
 * newest aggregate is the truth, so usage may have fallen. Exact decimals throughout: 33.3 % of 1000 is
 * reached at 333, 0.4 % of 1000 at 4 (never rounded to 0 %).
 *
 * - percent p: reached when usage ≥ included × p / 100 (with nothing included, when usage > 0). Below
 *   100 % `soft`; at 100 % and above `overage`, or `hard_limit` when the entitlement has one.
 * - `absolute` a: usage ≥ a. `spend` s: spend ≥ s (only when spend is known).
 * - `step` N units: after the last fixed unit threshold L (highest percent trigger and absolute amount,
 *   0 if none), each L + k·N (k ≥ 1). Only the highest reached step fires (a jump over ten steps is one
 *   alert, not ten), and only above the highest active step. Same for N money after the last spend threshold.
 * - A fired threshold no longer reached recovers (re-arms): a `recovered` alert for fixed thresholds,
 *   silently for steps (they are a running count, not a level anyone set).
 */
export function evaluateThresholds(state: PeriodState, policy: ThresholdPolicy, fired: ReadonlyMap<string, FiredThreshold>): Evaluation {
  const usage = new D(state.usage);
  const spend = state.spend === null ? null : new D(state.spend);
  const included = new D(policy.included);
  const isActive = (id: string) => fired.get(id)?.active === true;
  const fire: Threshold[] = [];

  const percentReached = (p: Decimal) => (included.lte(0) ? usage.gt(0) : usage.gte(included.mul(p).div(100)));
  const percentKind = (p: Decimal): ThresholdKind => (p.lt(100) ? 'soft' : policy.hardLimit ? 'hard_limit' : 'overage');
  const percents = sortedUnique(policy.thresholds).filter((p) => p.gt(0));
  for (const p of percents) {
    const id = `percent:${p.toFixed()}`;
    if (!isActive(id) && percentReached(p)) fire.push({ id, kind: percentKind(p), unit: 'percent', value: p.toFixed() });
  }
  const absolutes = sortedUnique(policy.absolute ?? []).filter((a) => a.gt(0));
  for (const a of absolutes) {
    const id = `absolute:${a.toFixed()}`;
    if (!isActive(id) && usage.gte(a)) fire.push({ id, kind: 'absolute', unit: 'units', value: a.toFixed() });
  }
  const spends = sortedUnique(policy.spend ?? []).filter((s) => s.gt(0));
  if (spend !== null) {
    for (const s of spends) {
      const id = `spend:${s.toFixed()}`;
      if (!isActive(id) && spend.gte(s)) fire.push({ id, kind: 'spend', unit: 'money', value: s.toFixed() });
    }
  }

  const lastUnitThreshold = D.max(0, ...(included.gt(0) ? percents.map((p) => included.mul(p).div(100)) : []), ...absolutes);
  const steps = [
    { family: 'step-units' as const, every: policy.stepUnits, base: lastUnitThreshold, amount: usage, unit: 'units' as const },
    { family: 'step-spend' as const, every: policy.stepSpend, base: D.max(0, ...spends), amount: spend, unit: 'money' as const },
  ];
  for (const step of steps) {
    if (step.every === undefined || step.amount === null) continue;
    const every = new D(step.every);
    if (every.lte(0) || step.amount.lte(step.base)) continue;
    const k = step.amount.minus(step.base).div(every).floor();
    if (k.lt(1)) continue;
    const trigger = step.base.plus(k.mul(every));
    const highestActive = [...fired.entries()]
      .filter(([id, f]) => f.active && id.startsWith(`${step.family}:`))
      .map(([id]) => parseThresholdId(id)?.value ?? new D(0))
      .reduce((max, v) => D.max(max, v), new D(-1));
    if (trigger.gt(highestActive)) fire.push({ id: `${step.family}:${trigger.toFixed()}`, kind: 'step', unit: step.unit, value: trigger.toFixed() });
  }

  const recover: Evaluation['recover'] = [];
  for (const [id, f] of fired) {
    if (!f.active) continue;
    const parsed = parseThresholdId(id);
    if (!parsed) continue;
    const { family, value } = parsed;
    let reached: boolean;
    let kind: ThresholdKind;
    let unit: ThresholdUnit;
    if (family === 'percent') [reached, kind, unit] = [percentReached(value), percentKind(value), 'percent'];
    else if (family === 'absolute' || family === 'step-units') [reached, kind, unit] = [usage.gte(value), family === 'absolute' ? 'absolute' : 'step', 'units'];
    else if (spend === null) continue; // Unknown spend says nothing about a spend threshold.
    else [reached, kind, unit] = [spend.gte(value), family === 'spend' ? 'spend' : 'step', 'money'];
    if (!reached) recover.push({ id, kind, unit, value: value.toFixed(), silent: kind === 'step' });
  }
  // Same order as firing: percentages, absolute amounts, spend, steps; ascending within each.
  const order = ['percent', 'absolute', 'spend', 'step-units', 'step-spend'];
  const family = (id: string) => order.indexOf(id.slice(0, id.indexOf(':')));
  recover.sort((a, b) => family(a.id) - family(b.id) || new D(a.value).comparedTo(b.value));
  return { fire, recover };
}
