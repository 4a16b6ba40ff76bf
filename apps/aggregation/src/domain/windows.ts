import type { WindowKind } from '@tally/contracts';
import type { PeriodProration } from './held-unit-days';

export interface Window {
  kind: WindowKind;
  start: Date;
  end: Date;
  /** A PERIOD window of a subscription that charges meters prorated: they keep heldUnitDays. */
  proration?: PeriodProration;
}

const MS = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

/** UTC-aligned fixed window containing `time` (by event time, never arrival time). */
export function fixedWindow(kind: 'MINUTE' | 'HOUR' | 'DAY', time: Date): Window {
  const size = MS[kind];
  const start = Math.floor(time.getTime() / size) * size;
  return { kind, start: new Date(start), end: new Date(start + size) };
}

/** The calendar month (UTC) containing `time`: the billing period of a customer with no subscription yet. */
export function calendarMonth(time: Date): Window {
  const start = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1);
  const end = Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1, 1);
  return { kind: 'PERIOD', start: new Date(start), end: new Date(end) };
}

export interface BillingPeriod {
  start: Date;
  end: Date;
  /** Set when the period's subscriptions charge meters prorated (billing.subscriptions.v1 proratedMeters). */
  proration?: PeriodProration;
}

/**
 * The billing-period window containing `time`: the customer's subscription period when one contains
 * it, else the calendar month (UTC).
 */
export function periodWindow(time: Date, periods: readonly BillingPeriod[] = []): Window {
  const period = periods.find((p) => p.start <= time && time < p.end);
  if (!period) return calendarMonth(time);
  return period.proration ? { kind: 'PERIOD', start: period.start, end: period.end, proration: period.proration } : { kind: 'PERIOD', start: period.start, end: period.end };
}

/**
 * The windows an event's readings are maintained in (and published for): its UTC day and its billing
 * period. MINUTE and HOUR series (and days in other time zones) are answered by the query API from the
 * ledger instead, so they cost nothing per event.
 */
export function windowsFor(time: Date, periods: readonly BillingPeriod[] = []): Window[] {
  return [fixedWindow('DAY', time), periodWindow(time, periods)];
}
