import { calendarMonth, type BillingPeriod } from './windows';

export interface TimeRange {
  start: Date;
  end: Date;
}

const overlaps = (a: TimeRange, b: TimeRange): boolean => a.start < b.end && b.start < a.end;

/**
 * The span of event time whose PERIOD windows must be rebuilt when a customer's billing periods change.
 *
 * An event's PERIOD window is the known period containing its time, else the UTC calendar month. So when
 * periods appear, move or end, events may move between windows — but only between windows that overlap the
 * changed periods, or that overlap those, and so on. Starting from the changed periods, the span grows to
 * whole calendar months (a fallback window is a whole month), to every existing PERIOD window it overlaps,
 * and to every known period it overlaps, until nothing more is added. Every window an event inside the span
 * had or will have lies wholly inside it, so rebuilding the span from the ledger leaves every other window
 * untouched and correct.
 */
export function rebucketSpan(changed: readonly BillingPeriod[], existingWindows: readonly TimeRange[], knownPeriods: readonly BillingPeriod[]): TimeRange | undefined {
  if (changed.length === 0) return undefined;
  let start = new Date(Math.min(...changed.map((p) => p.start.getTime())));
  let end = new Date(Math.max(...changed.map((p) => p.end.getTime())));
  for (;;) {
    const before = `${start.getTime()}:${end.getTime()}`;
    start = calendarMonth(start).start;
    // The month holding the span's last instant (end is exclusive).
    end = calendarMonth(new Date(end.getTime() - 1)).end;
    for (const r of [...existingWindows, ...knownPeriods]) {
      if (!overlaps(r, { start, end })) continue;
      if (r.start < start) start = r.start;
      if (r.end > end) end = r.end;
    }
    if (`${start.getTime()}:${end.getTime()}` === before) return { start, end };
  }
}
