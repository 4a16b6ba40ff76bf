import Decimal from 'decimal.js';

/**
 * SaaS metrics from the product brief, each a pure function of plain facts. Money is added up exactly
 * (decimal.js); ratios are percentages rounded half up to 2 places, only in the result. A ratio whose
 * denominator is zero is null (no customers at the start of the period: no churn rate).
 */

const pct = (part: Decimal.Value, whole: Decimal.Value): number | null => {
  const w = new Decimal(whole);
  return w.isZero() ? null : new Decimal(part).div(w).times(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toNumber();
};
const money = (d: Decimal) => d.toFixed(2, Decimal.ROUND_HALF_UP);

/** Churn rate = customers lost in the period / customers at the period's start × 100. */
export function churnRate(customersAtStart: number, customersLost: number): number | null {
  return pct(customersLost, customersAtStart);
}

/** ARPA = revenue of the period / accounts paying in it. */
export function arpa(revenue: Decimal.Value, accounts: number): Decimal | null {
  return accounts === 0 ? null : new Decimal(revenue).div(accounts);
}

/** LTV = ARPA / churn rate (as a fraction: 5 % churn -> ARPA / 0.05). No churn: null (unbounded). */
export function lifetimeValue(arpaValue: Decimal | null, churnRatePercent: number | null): Decimal | null {
  if (arpaValue === null || churnRatePercent === null || churnRatePercent === 0) return null;
  return arpaValue.div(new Decimal(churnRatePercent).div(100));
}

/** One customer's monthly recurring revenue in two consecutive months, and whether its plan stayed the same. */
export interface RevenueChange {
  customer: string;
  previous: Decimal.Value;
  current: Decimal.Value;
  samePlan: boolean;
}

export interface RevenueMovement {
  startMrr: string;
  endMrr: string;
  newMrr: string;
  expansionMrr: string;
  /** The part of expansion from customers whose plan did not change: they grew by using more. */
  usageExpansionMrr: string;
  contractionMrr: string;
  churnedMrr: string;
  customersAtStart: number;
  customersLost: number;
  customersAtEnd: number;
  /** (start + expansion − contraction − churned) / start × 100 */
  nrr: number | null;
  /** (start − contraction − churned) / start × 100 */
  grr: number | null;
  /** usage expansion / expansion × 100 */
  usageExpansionShare: number | null;
  /** NRR counting only usage-driven expansion. */
  usageNrr: number | null;
}

/**
 * MRR movement from one month to the next, customer by customer: new (0 -> >0), expansion (up), contraction
 * (down, still paying), churned (>0 -> 0). Retention counts only customers paying at the start.
 */
export function revenueMovement(changes: RevenueChange[]): RevenueMovement {
  let start = new Decimal(0);
  let end = new Decimal(0);
  let added = new Decimal(0);
  let expansion = new Decimal(0);
  let usageExpansion = new Decimal(0);
  let contraction = new Decimal(0);
  let churned = new Decimal(0);
  let atStart = 0;
  let lost = 0;
  let atEnd = 0;
  for (const c of changes) {
    const prev = new Decimal(c.previous);
    const cur = new Decimal(c.current);
    start = start.plus(prev);
    end = end.plus(cur);
    if (prev.gt(0)) atStart++;
    if (cur.gt(0)) atEnd++;
    if (prev.lte(0) && cur.gt(0)) added = added.plus(cur);
    else if (prev.gt(0) && cur.lte(0)) {
      churned = churned.plus(prev);
      lost++;
    } else if (cur.gt(prev)) {
      expansion = expansion.plus(cur.minus(prev));
      if (c.samePlan) usageExpansion = usageExpansion.plus(cur.minus(prev));
    } else if (cur.lt(prev)) contraction = contraction.plus(prev.minus(cur));
  }
  return {
    startMrr: money(start),
    endMrr: money(end),
    newMrr: money(added),
    expansionMrr: money(expansion),
    usageExpansionMrr: money(usageExpansion),
    contractionMrr: money(contraction),
    churnedMrr: money(churned),
    customersAtStart: atStart,
    customersLost: lost,
    customersAtEnd: atEnd,
    nrr: pct(start.plus(expansion).minus(contraction).minus(churned), start),
    grr: pct(start.minus(contraction).minus(churned), start),
    usageExpansionShare: pct(usageExpansion, expansion),
    usageNrr: pct(start.plus(usageExpansion).minus(contraction).minus(churned), start),
  };
}

export interface NetPromoterScore {
  score: number | null;
  promoters: number;
  passives: number;
  detractors: number;
  responses: number;
}

/** NPS = % promoters (9-10) − % detractors (0-6), over the answers given (one per customer: its latest). */
export function netPromoterScore(answers: number[]): NetPromoterScore {
  const promoters = answers.filter((a) => a >= 9).length;
  const detractors = answers.filter((a) => a <= 6).length;
  const n = answers.length;
  const score = n === 0 ? null : new Decimal(promoters - detractors).div(n).times(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toNumber();
  return { score, promoters, passives: n - promoters - detractors, detractors, responses: n };
}

/** `YYYY-MM` of a UTC month, and arithmetic on such months. */
export type Month = string;
export function monthOf(time: Date): Month {
  return time.toISOString().slice(0, 7);
}
export function addMonths(month: Month, n: number): Month {
  const [y, m] = month.split('-').map(Number);
  return monthOf(new Date(Date.UTC(y, m - 1 + n, 1)));
}

/** Periods at least this long are spread over their months (a yearly plan's invoice); shorter ones count whole. */
export const SPREAD_PERIODS_FROM_DAYS = 45;

/**
 * The months an invoice's revenue counts in, and how much in each: a period of a month or less (a monthly
 * plan's invoice, also a prorated first period) counts in full in the month its period starts in; a longer one
 * (a yearly plan's) is spread evenly over the UTC months whose 15th lies in its period, so a yearly customer
 * shows a steady MRR of a twelfth rather than everything in one month and nothing in eleven.
 */
export function recurringRevenueMonths(periodStart: Date, periodEnd: Date, total: Decimal.Value): Array<{ month: Month; amount: Decimal }> {
  const days = (periodEnd.getTime() - periodStart.getTime()) / 86_400_000;
  if (days < SPREAD_PERIODS_FROM_DAYS) return [{ month: monthOf(periodStart), amount: new Decimal(total) }];
  const months: Month[] = [];
  for (let m = addMonths(monthOf(periodStart), -1); ; m = addMonths(m, 1)) {
    const mid = new Date(`${m}-15T00:00:00Z`);
    if (mid >= periodEnd) break;
    if (mid >= periodStart) months.push(m);
  }
  if (months.length === 0) return [{ month: monthOf(periodStart), amount: new Decimal(total) }];
  const share = new Decimal(total).div(months.length);
  return months.map((month) => ({ month, amount: share }));
}

export interface CohortRow {
  cohort: Month;
  customers: number;
  /** Share of the cohort paying in its k-th month (0 = signup month), up to `throughMonth`. */
  retention: Array<number | null>;
  /** Month 2 = the month after signup (index 1). */
  month2Retention: number | null;
  /** Year 1 = twelve months after signup (index 12). */
  year1Retention: number | null;
}

/**
 * Activation cohorts by signup month: each customer joins the cohort of the month it signed up in; a cohort's
 * retention in month k is the share of its customers paying (MRR > 0) k months later. Months after
 * `throughMonth` are unknown yet (null).
 */
export function activationCohorts(customers: Array<{ customer: string; signupMonth: Month; payingMonths: Month[] }>, throughMonth: Month): CohortRow[] {
  const byCohort = new Map<Month, Array<Set<Month>>>();
  for (const c of customers) byCohort.set(c.signupMonth, [...(byCohort.get(c.signupMonth) ?? []), new Set(c.payingMonths)]);
  return [...byCohort.keys()].sort().map((cohort) => {
    const members = byCohort.get(cohort) ?? [];
    const retention: Array<number | null> = [];
    for (let k = 0; addMonths(cohort, k) <= throughMonth; k++) retention.push(pct(members.filter((paying) => paying.has(addMonths(cohort, k))).length, members.length));
    return { cohort, customers: members.length, retention, month2Retention: retention[1] ?? null, year1Retention: retention[12] ?? null };
  });
}

/** Threshold utilization rate = customers that crossed at least one usage threshold / active customers × 100. */
export function thresholdUtilizationRate(activeCustomers: string[], customersAtThreshold: string[]): number | null {
  const active = new Set(activeCustomers);
  return pct(new Set(customersAtThreshold.filter((c) => active.has(c))).size, active.size);
}

/**
 * Upgrade conversion rate = customers that upgraded within `windowDays` after their first threshold alert
 * of the period / customers alerted × 100. An upgrade is a subscription change that raised the included
 * quantity (a bigger plan).
 */
export function upgradeConversionRate(alerts: Array<{ customer: string; alertedAt: Date }>, upgrades: Array<{ customer: string; upgradedAt: Date }>, windowDays: number): number | null {
  const firstAlert = new Map<string, number>();
  for (const a of alerts) firstAlert.set(a.customer, Math.min(firstAlert.get(a.customer) ?? Infinity, a.alertedAt.getTime()));
  const converted = [...firstAlert].filter(([customer, at]) =>
    upgrades.some((u) => u.customer === customer && u.upgradedAt.getTime() >= at && u.upgradedAt.getTime() <= at + windowDays * 86_400_000),
  ).length;
  return pct(converted, firstAlert.size);
}
