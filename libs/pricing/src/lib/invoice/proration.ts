import type Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { Dec, type DecimalInput, type Instant, toDec, toInstant } from './money';

/**
 * Proration by calendar day in the customer's time zone.
 *
 * Rule: a period or window [from, to) covers every local calendar day that any part of it touches;
 * an end exactly at local midnight does not touch the day it starts. So a day of partial service is
 * billed as a whole day, and a period from local midnight to local midnight has as many days as the
 * calendar says — 31 for March in Europe/Berlin although that month has only 743 hours (DST).
 * prorated = amount × (days of the window inside the period) / (days of the period), unrounded.
 */
export interface ProrationWindow {
  periodStart: Instant;
  periodEnd: Instant;
  /** The part of the period being billed, half-open; clipped to the period. */
  from: Instant;
  to: Instant;
  /** IANA time zone the customer's days are counted in; UTC when absent. */
  timeZone?: string;
}

export interface ProrationDays {
  /** Days of the window inside the period. */
  days: number;
  /** Days of the whole period. */
  periodDays: number;
}

const MS_PER_DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new PricingError(`timeZone must be an IANA time zone name, got ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

interface LocalTime {
  /** Days since 1970-01-01 of the local calendar date. */
  day: number;
  /** True when the instant is exactly local midnight. */
  midnight: boolean;
}

function localTime(instant: Date, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const day = Date.UTC(parts['year'], parts['month'] - 1, parts['day']) / MS_PER_DAY;
  const midnight = parts['hour'] === 0 && parts['minute'] === 0 && parts['second'] === 0 && instant.getUTCMilliseconds() === 0;
  return { day, midnight };
}

/** The local calendar date of an instant, "YYYY-MM-DD". */
export function localDate(instant: Instant, timeZone = 'UTC'): string {
  const { day } = localTime(toInstant(instant, 'instant'), timeZone);
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** The local days [first, endExclusive) that the half-open interval [from, to) touches. */
export function touchedDays(from: Date, to: Date, timeZone: string): { first: number; endExclusive: number } {
  if (to.getTime() <= from.getTime()) {
    const d = localTime(from, timeZone).day;
    return { first: d, endExclusive: d };
  }
  const start = localTime(from, timeZone);
  const end = localTime(to, timeZone);
  return { first: start.day, endExclusive: end.midnight ? end.day : end.day + 1 };
}

function periodDays(start: Date, end: Date, timeZone: string): { first: number; endExclusive: number } {
  if (end.getTime() <= start.getTime()) throw new PricingError('period end must be after period start');
  return touchedDays(start, end, timeZone);
}

/** Days of the window inside the period, days of the period, and their ratio. */
export function prorationDays(window: ProrationWindow): ProrationDays {
  const timeZone = window.timeZone ?? 'UTC';
  const period = periodDays(toInstant(window.periodStart, 'periodStart'), toInstant(window.periodEnd, 'periodEnd'), timeZone);
  const range = touchedDays(toInstant(window.from, 'from'), toInstant(window.to, 'to'), timeZone);
  const first = Math.max(range.first, period.first);
  const endExclusive = Math.min(range.endExclusive, period.endExclusive);
  const days = Math.max(0, endExclusive - first);
  const total = period.endExclusive - period.first;
  return { days, periodDays: total };
}

/** amount × (days of [from, to) in the period) / (days of the period), unrounded. */
export function prorate(amount: DecimalInput, window: ProrationWindow): Decimal {
  const { days, periodDays: total } = prorationDays(window);
  return toDec(amount, 'amount').times(days).div(total);
}

export interface PlanChangeInput {
  periodStart: Instant;
  periodEnd: Instant;
  /** When the new plan takes effect; its local day is the first day of the new plan. */
  changeAt: Instant;
  timeZone?: string;
  oldBaseFee: { amount: DecimalInput; payInAdvance?: boolean };
  newBaseFee: { amount: DecimalInput };
}

export interface PlanChangeProration {
  /** Local date of the change: the first day billed on the new plan. */
  changeDate: string;
  periodDays: number;
  daysOnOldPlan: number;
  daysOnNewPlan: number;
  /** Unused part of an old fee paid in advance, to be credited (positive; 0 when it was paid in arrears). */
  oldPlanCredit: Decimal;
  /** Used part of an old fee paid in arrears, still to be charged (0 when it was paid in advance). */
  oldPlanCharge: Decimal;
  /** The new plan's fee for the rest of the period. */
  newPlanCharge: Decimal;
}

/**
 * A plan change in the middle of a period. The day of the change belongs to the new plan, so the days
 * split exactly: daysOnOldPlan + daysOnNewPlan = periodDays, and no day is billed twice or not at all.
 * An old fee paid in advance is credited for the days on the new plan; one paid in arrears is charged
 * for the days on the old plan. The new fee is charged for its days.
 */
export function proratePlanChange(input: PlanChangeInput): PlanChangeProration {
  const timeZone = input.timeZone ?? 'UTC';
  const start = toInstant(input.periodStart, 'periodStart');
  const end = toInstant(input.periodEnd, 'periodEnd');
  const changeAt = toInstant(input.changeAt, 'changeAt');
  if (changeAt.getTime() < start.getTime() || changeAt.getTime() >= end.getTime()) {
    throw new PricingError('changeAt must lie within the period [periodStart, periodEnd)');
  }
  const period = periodDays(start, end, timeZone);
  const total = period.endExclusive - period.first;
  const changeDay = localTime(changeAt, timeZone).day;
  const daysOnOldPlan = changeDay - period.first;
  const daysOnNewPlan = period.endExclusive - changeDay;
  const oldAmount = toDec(input.oldBaseFee.amount, 'oldBaseFee.amount');
  const newAmount = toDec(input.newBaseFee.amount, 'newBaseFee.amount');
  const zero = new Dec(0);
  return {
    changeDate: localDate(changeAt, timeZone),
    periodDays: total,
    daysOnOldPlan,
    daysOnNewPlan,
    oldPlanCredit: input.oldBaseFee.payInAdvance ? oldAmount.times(daysOnNewPlan).div(total) : zero,
    oldPlanCharge: input.oldBaseFee.payInAdvance ? zero : oldAmount.times(daysOnOldPlan).div(total),
    newPlanCharge: newAmount.times(daysOnNewPlan).div(total),
  };
}
