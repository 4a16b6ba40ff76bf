import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import type { EntityManager } from 'typeorm';
import type { AccountStatusChanged, InvoiceChanged, MeterDefinition, NpsFeedback, SubscriptionChanged, SupportTicket, UsageAggregate, UsageThresholdAlert } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';

export interface Customer {
  tenant: string;
  customer: string;
}

/** Alert kinds that mean the customer went over its allowance. */
const OVER_ALLOWANCE = new Set(['overage', 'hard_limit']);
/** Alert kinds that carry a percent of the included quantity. */
const PERCENT_KINDS = new Set(['soft', 'overage', 'hard_limit']);

/**
 * Writes the facts health is computed from, each idempotently and reorder-safe, so a redelivered or late
 * message never changes a fact twice: DAY windows by version, tickets and subscriptions by their time,
 * NPS answers by id, invoice payment facts as first occurrences.
 */
@Injectable()
export class HealthFactsRepository {
  /** DAY windows: a higher version replaces the value (re-bucketing may lower it); never added up. */
  async applyDayUsage(m: EntityManager, aggregates: UsageAggregate[]): Promise<void> {
    const newest = new Map<string, UsageAggregate>();
    for (const a of aggregates) {
      if (a.windowKind !== 'DAY') continue;
      const id = `${a.tenant}\u0000${a.customer}\u0000${a.meter}\u0000${a.windowStart.slice(0, 10)}`;
      const held = newest.get(id);
      if (!held || held.version < a.version) newest.set(id, a);
    }
    const list = [...newest.values()];
    if (list.length === 0) return;
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.usage_days AS u (tenant, customer, meter, day, value, version)
       SELECT t.tenant, t.customer, t.meter, (t.window_start AT TIME ZONE 'UTC')::date, t.value, t.version
       FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::numeric[], $6::bigint[]) AS t(tenant, customer, meter, window_start, value, version)
       ON CONFLICT (tenant, customer, meter, day) DO UPDATE SET value = excluded.value, version = excluded.version WHERE u.version < excluded.version`,
      [list.map((a) => a.tenant), list.map((a) => a.customer), list.map((a) => a.meter), list.map((a) => a.windowStart), list.map((a) => a.value), list.map((a) => a.version)],
    );
  }

  async applyMeters(m: EntityManager, meters: MeterDefinition[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const meter of meters) {
      if (meter.deleted) await m.query(`DELETE FROM ${s}.meter_kinds WHERE tenant = $1 AND meter = $2`, [meter.tenant, meter.slug]);
      else {
        await m.query(
          `INSERT INTO ${s}.meter_kinds (tenant, meter, aggregation) VALUES ($1, $2, $3) ON CONFLICT (tenant, meter) DO UPDATE SET aggregation = excluded.aggregation`,
          [meter.tenant, meter.slug, meter.aggregation],
        );
      }
    }
  }

  /** The latest state of each subscription by `occurredAt`; first_seen_at is when the customer first held it. */
  async applySubscriptions(m: EntityManager, subscriptions: SubscriptionChanged[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const sub of subscriptions) {
      await m.query(
        `INSERT INTO ${s}.subscriptions AS x (tenant, customer, subscription_id, plan, status, period_start, period_end, entitlements, first_seen_at, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (tenant, customer, subscription_id) DO UPDATE SET plan = excluded.plan, status = excluded.status, period_start = excluded.period_start,
           period_end = excluded.period_end, entitlements = excluded.entitlements, changed_at = excluded.changed_at,
           first_seen_at = LEAST(x.first_seen_at, excluded.first_seen_at)
         WHERE x.changed_at <= excluded.changed_at`,
        [sub.tenant, sub.customer, sub.subscriptionId, sub.plan, sub.status, sub.periodStart, sub.periodEnd, JSON.stringify(sub.entitlements.map((e) => ({ meter: e.meter, included: e.included }))), sub.occurredAt],
      );
      // The history, once per message (analytics: plans per month, upgrades = a raised included quantity).
      await m.query(
        `INSERT INTO ${s}.subscription_changes (tenant, event_id, customer, subscription_id, plan, status, included_total, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, event_id) DO NOTHING`,
        [sub.tenant, sub.eventId, sub.customer, sub.subscriptionId, sub.plan, sub.status, sub.entitlements.reduce((t, e) => t.plus(e.included), new Decimal(0)).toString(), sub.occurredAt],
      );
    }
  }

  /**
   * An invoice's state by `occurredAt`; when it was first paid and first failed are kept whatever the order
   * of arrival (the billing input needs "paid after due" and "failed").
   */
  async applyInvoices(m: EntityManager, invoices: InvoiceChanged[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const i of invoices) {
      const paidAt = i.status === 'paid' ? i.occurredAt : null;
      const failedAt = i.status === 'payment_failed' ? i.occurredAt : null;
      await m.query(
        `INSERT INTO ${s}.invoices AS x (tenant, customer, invoice_id, subscription_id, status, currency, period_start, period_end, total, due_at, paid_at, first_failed_at, changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (tenant, invoice_id) DO UPDATE SET
           status = CASE WHEN x.changed_at <= excluded.changed_at THEN excluded.status ELSE x.status END,
           total = CASE WHEN x.changed_at <= excluded.changed_at THEN excluded.total ELSE x.total END,
           due_at = COALESCE(CASE WHEN x.changed_at <= excluded.changed_at THEN excluded.due_at END, x.due_at, excluded.due_at),
           paid_at = LEAST(x.paid_at, excluded.paid_at),
           first_failed_at = LEAST(x.first_failed_at, excluded.first_failed_at),
           changed_at = GREATEST(x.changed_at, excluded.changed_at)`,
        [i.tenant, i.customer, i.invoiceId, i.subscriptionId, i.status, i.currency, i.periodStart, i.periodEnd, i.total, i.dueAt ?? null, paidAt, failedAt, i.occurredAt],
      );
    }
  }

  /** The newest standing by `occurredAt` (an older status arriving late changes nothing). */
  async applyAccountStatus(m: EntityManager, statuses: AccountStatusChanged[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const a of statuses) {
      await m.query(
        `INSERT INTO ${s}.customer_health AS h (tenant, customer, account_status, overdue_invoices, account_status_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant, customer) DO UPDATE SET account_status = excluded.account_status, overdue_invoices = excluded.overdue_invoices,
           account_status_at = excluded.account_status_at, updated_at = now()
         WHERE h.account_status_at IS NULL OR h.account_status_at <= excluded.account_status_at`,
        [a.tenant, a.customer, a.status, a.overdueInvoices, a.occurredAt],
      );
    }
  }

  /** A ticket's latest status and priority by `occurredAt`; opened at `openedAt` or its earliest message. */
  async applyTickets(m: EntityManager, tickets: SupportTicket[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const t of tickets) {
      await m.query(
        `INSERT INTO ${s}.support_tickets AS x (tenant, ticket_id, customer, status, priority, opened_at, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant, ticket_id) DO UPDATE SET
           status = CASE WHEN x.changed_at <= excluded.changed_at THEN excluded.status ELSE x.status END,
           priority = CASE WHEN x.changed_at <= excluded.changed_at THEN excluded.priority ELSE x.priority END,
           opened_at = LEAST(x.opened_at, excluded.opened_at),
           changed_at = GREATEST(x.changed_at, excluded.changed_at)`,
        [t.tenant, t.ticketId, t.customer, t.status, t.priority, t.openedAt ?? t.occurredAt, t.occurredAt],
      );
    }
  }

  /** One row per answer (`eventId`): a redelivered answer is not counted twice. */
  async applyNps(m: EntityManager, answers: NpsFeedback[]): Promise<void> {
    if (answers.length === 0) return;
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.nps_responses (tenant, response_id, customer, score, answered_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::timestamptz[]) ON CONFLICT (tenant, response_id) DO NOTHING`,
      [answers.map((a) => a.tenant), answers.map((a) => a.eventId), answers.map((a) => a.customer), answers.map((a) => a.score), answers.map((a) => a.occurredAt)],
    );
  }

  /** Highest percent crossed per (customer, meter, period), and whether the allowance was exceeded. */
  async applyThresholdAlerts(m: EntityManager, alerts: UsageThresholdAlert[]): Promise<void> {
    const s = schemaOf(m.connection);
    for (const a of alerts) {
      if (!PERCENT_KINDS.has(a.kind)) continue;
      // Newer alerts may carry the percent only as an exact `threshold` with `thresholdUnit: 'percent'`.
      const exact = a as { thresholdPercent?: number; threshold?: string; thresholdUnit?: string };
      const percent = exact.thresholdPercent ?? (exact.thresholdUnit === 'percent' && exact.threshold !== undefined ? Number(exact.threshold) : null);
      if (percent === null || !Number.isFinite(percent)) continue;
      await m.query(
        `INSERT INTO ${s}.threshold_periods AS x (tenant, customer, meter, period_start, period_end, max_percent, overage, first_alert_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tenant, customer, meter, period_start) DO UPDATE SET max_percent = GREATEST(x.max_percent, excluded.max_percent),
           overage = x.overage OR excluded.overage, first_alert_at = LEAST(x.first_alert_at, excluded.first_alert_at)`,
        [a.tenant, a.customer, a.meter, a.periodStart, a.periodEnd, percent, OVER_ALLOWANCE.has(a.kind) || percent > 100, a.occurredAt],
      );
    }
  }
}

export function uniqueCustomers(values: Customer[]): Customer[] {
  const seen = new Map<string, Customer>();
  for (const v of values) seen.set(`${v.tenant}\u0000${v.customer}`, { tenant: v.tenant, customer: v.customer });
  return [...seen.values()].sort((a, b) => (a.tenant === b.tenant ? (a.customer < b.customer ? -1 : a.customer > b.customer ? 1 : 0) : a.tenant < b.tenant ? -1 : 1));
}
