/**
 * Product usage input (0-100, plus a power-user bonus up to 150), from DAY aggregates of
 * `usage.aggregates.v1`. Three parts, each 0-100:
 * - level: use in the last 30 days against what the plan includes for 30 days (included × 30 / period
 *   days), per entitled meter, averaged; capped at 100 in the base;
 * - trend: the last 30 days against the 30 before, per meter (min(1, current / prior), a meter new in
 *   the last 30 days counts as 1), averaged;
 * - active days: UTC days with any use among the last 30; 20 of them (every working day) is full marks.
 * Base = 40 % level + 30 % trend + 30 % active days; without an entitlement to measure against,
 * 50 % trend + 50 % active days. Bonus: a customer above its allowance (utilization > 100 %) gets the
 * excess as bonus points, at most 50, which is what lets a power user's score exceed 100 ("excellent").
 * Additive meters (SUM, COUNT) compare sums of days; gauges (MAX, MIN, LATEST, AVG, UNIQUE_COUNT) compare
 * their highest day, since adding a seat count over 30 days means nothing.
 */
export interface DailyUsage {
  meter: string;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  value: number;
}

export interface MeterAllowance {
  meter: string;
  /** Included quantity per billing period and the period's length in days. */
  included: number;
  periodDays: number;
}

export type MeterKind = 'additive' | 'gauge';

export interface UsageInput {
  value: number;
  level: number | null;
  trend: number;
  activeDays: number;
  utilizationPercent: number | null;
  bonus: number;
}

export const USAGE_WINDOW_DAYS = 30;
export const FULL_ACTIVE_DAYS = 20;
export const MAX_USAGE_BONUS = 50;
const DAY_MS = 86_400_000;

export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/** The first day of the last-30-days window (today is its last day) and of the 30 days before it. */
export function usageWindows(now: Date): { currentFrom: string; priorFrom: string; today: string } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return {
    today: utcDay(new Date(today)),
    currentFrom: utcDay(new Date(today - (USAGE_WINDOW_DAYS - 1) * DAY_MS)),
    priorFrom: utcDay(new Date(today - (2 * USAGE_WINDOW_DAYS - 1) * DAY_MS)),
  };
}

export function usageInput(days: DailyUsage[], allowances: MeterAllowance[], kindOf: (meter: string) => MeterKind, now: Date): UsageInput {
  const { currentFrom, priorFrom, today } = usageWindows(now);
  const current = new Map<string, number[]>();
  const prior = new Map<string, number[]>();
  const activeDays = new Set<string>();
  for (const d of days) {
    if (d.day > today || d.day < priorFrom) continue;
    const into = d.day >= currentFrom ? current : prior;
    into.set(d.meter, [...(into.get(d.meter) ?? []), d.value]);
    if (d.day >= currentFrom && d.value > 0) activeDays.add(d.day);
  }
  const windowValue = (meter: string, values: number[] | undefined) =>
    !values || values.length === 0 ? 0 : kindOf(meter) === 'additive' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);

  const ratios: number[] = [];
  for (const meter of new Set([...current.keys(), ...prior.keys()])) {
    const now30 = windowValue(meter, current.get(meter));
    const before = windowValue(meter, prior.get(meter));
    if (now30 <= 0 && before <= 0) continue;
    // Negative windows (corrections, a gauge below zero) count as no use: a ratio stays within 0-1.
    ratios.push(before <= 0 ? 1 : Math.max(0, Math.min(1, now30 / before)));
  }
  const trend = ratios.length === 0 ? 0 : (100 * ratios.reduce((a, b) => a + b, 0)) / ratios.length;
  const active = Math.min(100, (100 * activeDays.size) / FULL_ACTIVE_DAYS);

  const utilizations = allowances
    .filter((a) => a.included > 0 && a.periodDays > 0)
    .map((a) => {
      const allowance = kindOf(a.meter) === 'additive' ? (a.included * USAGE_WINDOW_DAYS) / a.periodDays : a.included;
      return (100 * windowValue(a.meter, current.get(a.meter))) / allowance;
    });
  const utilizationPercent = utilizations.length === 0 ? null : utilizations.reduce((a, b) => a + b, 0) / utilizations.length;
  const level = utilizationPercent === null ? null : Math.max(0, Math.min(100, utilizationPercent));
  const base = level === null ? 0.5 * trend + 0.5 * active : 0.4 * level + 0.3 * trend + 0.3 * active;
  const bonus = utilizationPercent === null ? 0 : Math.min(MAX_USAGE_BONUS, Math.max(0, utilizationPercent - 100));
  return { value: round2(base + bonus), level: level === null ? null : round2(level), trend: round2(trend), activeDays: activeDays.size, utilizationPercent: utilizationPercent === null ? null : round2(utilizationPercent), bonus: round2(bonus) };
}

export const round2 = (n: number): number => Math.round((n + Number.EPSILON) * 100) / 100;
