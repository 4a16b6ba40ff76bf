import { Inject, Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { DataSource } from 'typeorm';
import { problem, READ_DATA_SOURCE } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import {
  activationCohorts,
  addMonths,
  arpa,
  churnRate,
  lifetimeValue,
  monthOf,
  recurringRevenueMonths,
  netPromoterScore,
  revenueMovement,
  thresholdUtilizationRate,
  upgradeConversionRate,
  type CohortRow,
  type Month,
  type NetPromoterScore,
  type RevenueMovement,
} from '../domain/saas-metrics';

export interface MonthlyAnalytics extends RevenueMovement {
  month: Month;
  currency: string | null;
  churnRate: number | null;
  arpa: string | null;
  ltv: string | null;
  nps: NetPromoterScore;
  thresholdUtilizationRate: number | null;
  upgradeConversionRate: number | null;
  upgradeWindowDays: number;
}

const monthStart = (month: Month) => new Date(`${month}-01T00:00:00Z`);

/**
 * Reads the facts health-scoring keeps (invoices, subscription changes, NPS answers, threshold alerts) and
 * feeds the pure formulas of saas-metrics. Revenue of a month = totals of the invoices (finalized, paid or
 * failed; not drafts or voids) whose period starts in it, a yearly invoice's spread over its twelve months
 * (recurringRevenueMonths): monthly recurring revenue.
 */
@Injectable()
export class AnalyticsService {
  constructor(@Inject(READ_DATA_SOURCE) private readonly read: DataSource) {}

  async monthly(tenant: string, month: Month, currency: string | undefined, upgradeWindowDays: number): Promise<MonthlyAnalytics> {
    const s = schemaOf(this.read);
    const previous = addMonths(month, -1);
    const from = monthStart(previous);
    const to = monthStart(addMonths(month, 1));
    // A yearly period that started up to a year before `from` still counts in these months.
    const invoiced: Array<{ customer: string; currency: string; period_start: Date; period_end: Date; total: string }> = await this.read.query(
      `SELECT customer, currency, period_start, period_end, total::text FROM ${s}.invoices
       WHERE tenant = $1 AND status IN ('finalized', 'paid', 'payment_failed') AND period_start < $3 AND period_end > $2`,
      [tenant, from, to],
    );
    const revenue = invoiced.flatMap((i) =>
      recurringRevenueMonths(i.period_start, i.period_end, i.total)
        .filter((r) => r.month === previous || r.month === month)
        .map((r) => ({ customer: i.customer, currency: i.currency, month: r.month, total: r.amount })),
    );
    const currencies = [...new Set(revenue.map((r) => r.currency))];
    if (currency === undefined && currencies.length > 1) throw problem(400, `invoices are in ${currencies.sort().join(', ')}: name one with ?currency=`, [{ pointer: '/currency', detail: 'is required when invoices are in several currencies' }]);
    const chosen = currency ?? currencies[0] ?? null;
    const mrr = (m: Month) => {
      const byCustomer = new Map<string, Decimal>();
      for (const r of revenue) if (r.month === m && r.currency === chosen) byCustomer.set(r.customer, (byCustomer.get(r.customer) ?? new Decimal(0)).plus(r.total));
      return byCustomer;
    };
    const before = mrr(previous);
    const now = mrr(month);
    const changes: Array<{ customer: string; subscription_id: string; plan: string; status: string; included_total: string; changed_at: Date }> = await this.read.query(
      `SELECT customer, subscription_id, plan, status, included_total::text, changed_at FROM ${s}.subscription_changes WHERE tenant = $1 AND changed_at < $2 ORDER BY changed_at, event_id`,
      [tenant, new Date(to.getTime() + upgradeWindowDays * 86_400_000)],
    );
    const plansAt = (end: Date) => {
      const latest = new Map<string, { customer: string; plan: string; status: string }>();
      for (const c of changes) if (c.changed_at < end) latest.set(`${c.customer}\u0000${c.subscription_id}`, c);
      const plans = new Map<string, string>();
      for (const c of latest.values()) if (c.status !== 'canceled') plans.set(c.customer, [...(plans.get(c.customer)?.split('\u0000') ?? []), c.plan].sort().join('\u0000'));
      return plans;
    };
    const plansBefore = plansAt(monthStart(month));
    const plansNow = plansAt(to);
    const movement = revenueMovement(
      [...new Set([...before.keys(), ...now.keys()])].map((customer) => ({
        customer,
        previous: before.get(customer) ?? 0,
        current: now.get(customer) ?? 0,
        samePlan: (plansBefore.get(customer) ?? '') === (plansNow.get(customer) ?? '') && plansNow.has(customer),
      })),
    );
    const rate = churnRate(movement.customersAtStart, movement.customersLost);
    const arpaValue = arpa(movement.endMrr, movement.customersAtEnd);
    const ltv = lifetimeValue(arpaValue, rate);

    const answers: Array<{ score: number }> = await this.read.query(
      `SELECT DISTINCT ON (customer) score FROM ${s}.nps_responses WHERE tenant = $1 AND answered_at >= $2 AND answered_at < $3 ORDER BY customer, answered_at DESC, response_id DESC`,
      [tenant, monthStart(month), to],
    );
    const alerted: Array<{ customer: string; first_alert_at: Date }> = await this.read.query(
      `SELECT customer, min(first_alert_at) AS first_alert_at FROM ${s}.threshold_periods WHERE tenant = $1 AND first_alert_at >= $2 AND first_alert_at < $3 GROUP BY customer`,
      [tenant, monthStart(month), to],
    );
    const upgrades: Array<{ customer: string; upgradedAt: Date }> = [];
    const lastIncluded = new Map<string, Decimal>();
    for (const c of changes) {
      const key = `${c.customer}\u0000${c.subscription_id}`;
      const held = lastIncluded.get(key);
      if (held && new Decimal(c.included_total).gt(held)) upgrades.push({ customer: c.customer, upgradedAt: c.changed_at });
      lastIncluded.set(key, new Decimal(c.included_total));
    }
    return {
      month,
      currency: chosen,
      ...movement,
      churnRate: rate,
      arpa: arpaValue?.toFixed(2, Decimal.ROUND_HALF_UP) ?? null,
      ltv: ltv?.toFixed(2, Decimal.ROUND_HALF_UP) ?? null,
      nps: netPromoterScore(answers.map((a) => a.score)),
      thresholdUtilizationRate: thresholdUtilizationRate([...now.keys()], alerted.map((a) => a.customer)),
      upgradeConversionRate: upgradeConversionRate(alerted.map((a) => ({ customer: a.customer, alertedAt: a.first_alert_at })), upgrades, upgradeWindowDays),
      upgradeWindowDays,
    };
  }

  /** Activation cohorts by signup month (the customer's first subscription), through `through`. */
  async cohorts(tenant: string, through: Month, currency: string | undefined): Promise<CohortRow[]> {
    const s = schemaOf(this.read);
    const signups: Array<{ customer: string; signed_up: Date }> = await this.read.query(
      `SELECT customer, min(first_seen_at) AS signed_up FROM ${s}.subscriptions WHERE tenant = $1 GROUP BY customer HAVING min(first_seen_at) < $2`,
      [tenant, monthStart(addMonths(through, 1))],
    );
    const paying: Array<{ customer: string; period_start: Date; period_end: Date; total: string }> = await this.read.query(
      `SELECT customer, period_start, period_end, total::text FROM ${s}.invoices
       WHERE tenant = $1 AND status IN ('finalized', 'paid', 'payment_failed') AND total > 0 AND ($2::text IS NULL OR currency = $2)`,
      [tenant, currency ?? null],
    );
    const months = new Map<string, Month[]>();
    for (const p of paying) for (const r of recurringRevenueMonths(p.period_start, p.period_end, p.total)) months.set(p.customer, [...(months.get(p.customer) ?? []), r.month]);
    return activationCohorts(signups.map((c) => ({ customer: c.customer, signupMonth: monthOf(c.signed_up), payingMonths: months.get(c.customer) ?? [] })), through);
  }
}
