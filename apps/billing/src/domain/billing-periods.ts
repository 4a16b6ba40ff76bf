/**
 * Subscription periods, in the customer's time zone: a Berlin customer's March starts at Berlin
 * midnight. Calendar periods run from the 1st of the month (or January 1st); anniversary periods
 * from the subscription's start day, clamped to shorter months (a subscription started on Jan 31
 * renews on Feb 28, then Mar 31). A subscription's first period starts when it started.
 */
export type BillingTime = 'calendar' | 'anniversary';
export type PlanInterval = 'monthly' | 'yearly';

export interface PeriodRule {
  billingTime: BillingTime;
  interval: PlanInterval;
  startedAt: Date;
  timeZone: string;
}

export interface Period {
  start: Date;
  end: Date;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in a zone (month 0-based). */
export function localParts(instant: Date, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year, month: p.month - 1, day: p.day, hour: p.hour, minute: p.minute, second: p.second };
}

/** The instant of local midnight starting (year, month, day) in the zone; months and days may overflow. */
export function zonedMidnight(year: number, month: number, day: number, timeZone: string): Date {
  const wall = Date.UTC(year, month, day);
  // The zone's offset at a guess, then at the corrected instant (they differ only across a DST change).
  let instant = wall - offsetMs(new Date(wall), timeZone);
  instant = wall - offsetMs(new Date(instant), timeZone);
  return new Date(instant);
}

function offsetMs(instant: Date, timeZone: string): number {
  const p = localParts(instant, timeZone);
  const asUtc = Date.UTC(p.year, p.month, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/** The k-th period boundary after the anchor (k = 0 is the anchor day's local midnight). */
function boundary(rule: PeriodRule, k: number): Date {
  const months = rule.interval === 'yearly' ? 12 : 1;
  const anchor = localParts(rule.startedAt, rule.timeZone);
  if (rule.billingTime === 'calendar') {
    const firstMonth = rule.interval === 'yearly' ? 0 : anchor.month;
    return zonedMidnight(anchor.year, firstMonth + k * months, 1, rule.timeZone);
  }
  const target = new Date(Date.UTC(anchor.year, anchor.month + k * months, 1));
  const day = Math.min(anchor.day, daysInMonth(target.getUTCFullYear(), target.getUTCMonth()));
  return zonedMidnight(target.getUTCFullYear(), target.getUTCMonth(), day, rule.timeZone);
}

/** The period containing `at` (not before the subscription started). */
export function periodContaining(rule: PeriodRule, at: Date): Period {
  const { k, nominal } = locate(rule, at);
  return k === 0 ? { start: rule.startedAt, end: nominal.end } : nominal;
}

/**
 * The whole period containing `at`, even when the subscription started inside it: what a base fee is
 * prorated against (a calendar subscription started on Jan 15 pays 17 of January's 31 days).
 */
export function nominalPeriodContaining(rule: PeriodRule, at: Date): Period {
  return locate(rule, at).nominal;
}

function locate(rule: PeriodRule, at: Date): { k: number; nominal: Period } {
  const time = at < rule.startedAt ? rule.startedAt : at;
  // Boundaries are monotonic in k: step from an estimate instead of searching from the anchor.
  const monthsPerPeriod = rule.interval === 'yearly' ? 12 : 1;
  const a = localParts(rule.startedAt, rule.timeZone);
  const t = localParts(time, rule.timeZone);
  let k = Math.max(0, Math.floor(((t.year - a.year) * 12 + (t.month - a.month)) / monthsPerPeriod) - 1);
  while (boundary(rule, k + 1) <= time) k++;
  while (k > 0 && boundary(rule, k) > time) k--;
  return { k, nominal: { start: boundary(rule, k), end: boundary(rule, k + 1) } };
}

/** The period after one ending at `end`. */
export const nextPeriod = (rule: PeriodRule, end: Date): Period => periodContaining(rule, end);
