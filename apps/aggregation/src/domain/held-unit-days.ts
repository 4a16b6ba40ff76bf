/**
 * Lago's prorated charges (`prorated: true`, Events::Stores::PostgresStore#prorated_sum) count a unit
 * added on local day d of a period as held (last day − d + 1) days, both ends included, days being the
 * customer's calendar days. For a SUM meter that count is additive: a PERIOD window keeps
 * `heldUnitDays` = Σ value × days held, and billing divides it by the days of the period. It depends on
 * the period's last day only, not on how many days the period has, so a first period that starts
 * mid-month gives the same count as Lago's for the same events.
 *
 * A period's local midnights are computed once (Intl is far too slow per event) and cached; an event then
 * costs a binary search over at most ~366 numbers.
 */

/** What makes a PERIOD window maintain heldUnitDays: the subscription's time zone and its prorated meters. */
export interface PeriodProration {
  timeZone: string;
  meters: ReadonlySet<string>;
}

const MS_PER_DAY = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether the runtime knows the IANA time zone (an unknown one must not fail a whole batch). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Days since 1970-01-01 of the local calendar date of `ms`. */
function localDay(ms: number, timeZone: string): number {
  let year = 0;
  let month = 0;
  let day = 0;
  for (const p of formatterFor(timeZone).formatToParts(ms)) {
    if (p.type === 'year') year = Number(p.value);
    else if (p.type === 'month') month = Number(p.value);
    else if (p.type === 'day') day = Number(p.value);
  }
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/**
 * The first instant (ms) whose local date is `day` or later: the local midnight that starts the day, or
 * the first instant after a gap when a DST change skips midnight. Offsets lie within ±18 h of UTC.
 */
function dayStart(day: number, timeZone: string): number {
  let lo = day * MS_PER_DAY - 18 * 3_600_000; // local date surely before `day`
  let hi = day * MS_PER_DAY + 18 * 3_600_000; // surely on or after it
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDay(mid, timeZone) >= day) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The instants at which a new local day starts strictly inside (start, end), ascending. An event at
 * exactly one of them is on the day it starts.
 */
export function localMidnights(start: Date, end: Date, timeZone: string): number[] {
  const out: number[] = [];
  const endMs = end.getTime();
  for (let day = localDay(start.getTime(), timeZone) + 1; ; day++) {
    const at = dayStart(day, timeZone);
    if (at >= endMs) return out;
    if (at > start.getTime()) out.push(at);
  }
}

const MAX_CACHED = 10_000;
const midnightsCache = new Map<string, number[]>();

function cachedMidnights(start: Date, end: Date, timeZone: string): number[] {
  const key = `${timeZone}\u0000${start.getTime()}\u0000${end.getTime()}`;
  let midnights = midnightsCache.get(key);
  if (midnights === undefined) {
    midnights = localMidnights(start, end, timeZone);
    if (midnightsCache.size >= MAX_CACHED) midnightsCache.clear();
    midnightsCache.set(key, midnights);
  }
  return midnights;
}

/**
 * Days a unit counted at `time` is held in the period [start, end): from its local day to the period's
 * last local day, both included (1 on the last day, the period's day count at its first instant).
 * `time` must lie in the period.
 */
export function daysHeld(time: Date | number, period: { start: Date; end: Date }, timeZone: string): number {
  const midnights = cachedMidnights(period.start, period.end, timeZone);
  const ms = typeof time === 'number' ? time : time.getTime();
  // Midnights at or before `ms`: the event's day index in the period.
  let lo = 0;
  let hi = midnights.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (midnights[mid] <= ms) lo = mid + 1;
    else hi = mid;
  }
  return midnights.length + 1 - lo;
}
