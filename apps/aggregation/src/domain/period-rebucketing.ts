import { calendarMonth, type BillingPeriod } from './windows';

export interface TimeRange {
  start: Date;
  end: Date;
}

const overlaps = (a: TimeRange, b: TimeRange): boolean => a.start < b.end && b.start < a.end;
const straddles = (r: TimeRange, at: Date): boolean => r.start < at && at < r.end;

/** The parts of `range` no known period covers: where an event's PERIOD window is its UTC calendar month. */
export function uncoveredParts(range: TimeRange, knownPeriods: readonly BillingPeriod[]): TimeRange[] {
  const covering = knownPeriods.filter((p) => overlaps(p, range)).sort((a, b) => a.start.getTime() - b.start.getTime());
  const gaps: TimeRange[] = [];
  let at = range.start;
  for (const p of covering) {
    if (p.start > at) gaps.push({ start: at, end: p.start < range.end ? p.start : range.end });
    if (p.end > at) at = p.end;
    if (at >= range.end) break;
  }
  if (at < range.end) gaps.push({ start: at, end: range.end });
  return gaps;
}

/**
 * The span of event time whose PERIOD windows must be rebuilt when a customer's billing periods change.
 *
 * An event's PERIOD window is the known period containing its time, else its UTC calendar month (the
 * fallback). So when periods appear, move or end, events may move between windows — but only between
 * windows that overlap the changed periods, or that overlap those, and so on. Starting from the changed
 * periods, the span grows to every existing PERIOD window holding events that it overlaps, to every known
 * period it overlaps, and, where no known period covers part of it, to that part's whole calendar months,
 * until nothing more is added. Every window an event inside the span had or will have then lies wholly inside
 * it, so rebuilding the span from the ledger leaves every other window untouched and correct.
 *
 * Months are added only for uncovered time, and windows only when they hold events: a customer with back-to-back
 * anniversary (or non-UTC calendar) periods rebuilds the periods around the change, not its whole history.
 */
export function rebucketSpan(changed: readonly BillingPeriod[], existingWindows: readonly TimeRange[], knownPeriods: readonly BillingPeriod[]): TimeRange | undefined {
  if (changed.length === 0) return undefined;
  let start = new Date(Math.min(...changed.map((p) => p.start.getTime())));
  let end = new Date(Math.max(...changed.map((p) => p.end.getTime())));
  for (;;) {
    const before = `${start.getTime()}:${end.getTime()}`;
    for (const r of [...existingWindows, ...knownPeriods]) {
      if (!overlaps(r, { start, end })) continue;
      if (r.start < start) start = r.start;
      if (r.end > end) end = r.end;
    }
    for (const gap of uncoveredParts({ start, end }, knownPeriods)) {
      const first = calendarMonth(gap.start).start;
      // The month holding the gap's last instant (end is exclusive).
      const last = calendarMonth(new Date(gap.end.getTime() - 1)).end;
      if (first < start) start = first;
      if (last > end) end = last;
    }
    if (`${start.getTime()}:${end.getTime()}` === before) return { start, end };
  }
}

/**
 * The part of `span` that can be rebuilt when the ledger only holds events from `retainedFrom` on: it starts at
 * the first instant at or after `retainedFrom` where no window can hold events from both sides — no existing
 * window holding events nor known period straddles it, and it is a month start unless its month is wholly
 * covered by known periods (then no fallback window exists there). Windows before it keep what they have:
 * rebuilt from a ledger without their events, they would be emptied. Undefined when no such instant lies
 * before the span's end (nothing can be rebuilt without losing counted usage).
 */
export function retainedSpan(span: TimeRange, retainedFrom: Date, existingWindows: readonly TimeRange[], knownPeriods: readonly BillingPeriod[]): TimeRange | undefined {
  if (span.start >= retainedFrom) return span;
  const ranges = [...existingWindows, ...knownPeriods];
  const candidates = new Set<number>([retainedFrom.getTime()]);
  for (const r of ranges) for (const t of [r.start, r.end]) if (t >= retainedFrom && t < span.end) candidates.add(t.getTime());
  for (let m = calendarMonth(retainedFrom).end; m < span.end; m = calendarMonth(m).end) candidates.add(m.getTime());
  for (const t of [...candidates].sort((a, b) => a - b)) {
    if (t >= span.end.getTime()) break;
    const at = new Date(t);
    if (ranges.some((r) => straddles(r, at))) continue;
    const month = calendarMonth(at);
    if (month.start.getTime() !== t && uncoveredParts(month, knownPeriods).length > 0) continue;
    return { start: at, end: span.end };
  }
  return undefined;
}
