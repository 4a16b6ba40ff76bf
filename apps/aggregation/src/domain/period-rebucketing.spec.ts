import { rebucketSpan, retainedSpan, uncoveredParts } from './period-rebucketing';

const d = (s: string) => new Date(s);
const r = (start: string, end: string) => ({ start: d(start), end: d(end) });

/** Monthly anniversary periods on the 15th (UTC), `count` of them from 2026-01-15. */
const anniversary = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ start: new Date(Date.UTC(2026, i, 15)), end: new Date(Date.UTC(2026, i + 1, 15)) }));

describe('uncoveredParts', () => {
  it('is the whole range without periods, nothing when covered, the gaps between and around periods', () => {
    const range = r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    expect(uncoveredParts(range, [])).toEqual([range]);
    expect(uncoveredParts(range, [r('2026-10-15T00:00:00Z', '2026-12-15T00:00:00Z')])).toEqual([]);
    expect(uncoveredParts(range, [r('2026-11-20T00:00:00Z', '2026-11-25T00:00:00Z'), r('2026-11-05T00:00:00Z', '2026-11-10T00:00:00Z')])).toEqual([
      r('2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z'),
      r('2026-11-10T00:00:00Z', '2026-11-20T00:00:00Z'),
      r('2026-11-25T00:00:00Z', '2026-12-01T00:00:00Z'),
    ]);
  });

  it('treats ends as exclusive and overlapping periods as one cover', () => {
    const range = r('2026-11-01T00:00:00Z', '2026-11-03T00:00:00Z');
    expect(uncoveredParts(range, [r('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z'), r('2026-11-02T00:00:00Z', '2026-11-03T00:00:00Z')])).toEqual([]);
    expect(uncoveredParts(range, [r('2026-10-01T00:00:00Z', '2026-11-02T12:00:00Z'), r('2026-11-02T00:00:00Z', '2026-11-02T06:00:00Z')])).toEqual([
      r('2026-11-02T12:00:00Z', '2026-11-03T00:00:00Z'),
    ]);
  });
});

describe('rebucketSpan', () => {
  it('is nothing when no period changed', () => {
    expect(rebucketSpan([], [], [])).toBeUndefined();
  });

  it('covers the calendar months whose fallback windows hold events around a new period', () => {
    // An anniversary period in Asia/Shanghai: 16:00 UTC on the 14th to the 14th of the next month; its events
    // were counted before it was known, in the November and December fallback windows.
    const period = r('2026-11-14T16:00:00Z', '2026-12-14T16:00:00Z');
    const fallbacks = [r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z'), r('2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z')];
    expect(rebucketSpan([period], fallbacks, [period])).toEqual(r('2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z'));
  });

  it('is just the new period when nothing was counted around it and it is covered', () => {
    const period = r('2026-11-14T16:00:00Z', '2026-12-14T16:00:00Z');
    expect(rebucketSpan([period], [], [period])).toEqual(period);
  });

  it('grows to existing windows and known periods it overlaps, transitively, and to the months of uncovered time', () => {
    const changed = r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    // An existing window reaching into December, and a known period from there into January. December 1–20 is
    // covered by no period: its events go to the December fallback window, which the span must hold whole.
    const existing = [r('2026-11-20T00:00:00Z', '2026-12-20T00:00:00Z')];
    const known = [changed, r('2026-12-20T00:00:00Z', '2027-01-20T00:00:00Z')];
    expect(rebucketSpan([changed], existing, known)).toEqual(r('2026-11-01T00:00:00Z', '2027-01-20T00:00:00Z'));
  });

  it('leaves windows that do not touch the span alone', () => {
    const changed = r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    const far = [r('2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z'), r('2027-03-01T00:00:00Z', '2027-04-01T00:00:00Z')];
    expect(rebucketSpan([changed], far, far)).toEqual(changed);
  });

  it('treats the end as exclusive: a period ending at a month boundary does not pull in the next month', () => {
    const changed = r('2026-10-15T00:00:00Z', '2026-11-01T00:00:00Z');
    const next = [r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z')];
    expect(rebucketSpan([changed], next, [])).toEqual(r('2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z'));
  });

  it('a canceled (shortened) period keeps the span over the window it used to have and the months now uncovered', () => {
    const shortened = r('2026-11-15T00:00:00Z', '2026-11-30T00:00:00Z');
    const oldWindow = [r('2026-11-15T00:00:00Z', '2026-12-15T00:00:00Z')];
    expect(rebucketSpan([shortened], oldWindow, [shortened])).toEqual(r('2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z'));
  });

  it('a roll of back-to-back anniversary periods rebuilds the periods around it, not the whole history', () => {
    const periods = anniversary(12);
    const windows = periods.slice(0, 11); // each earlier period has its window; the newest has none yet
    const newest = periods[11];
    // Events past the boundary were counted in the December fallback window before the roll was known.
    const existing = [...windows, r('2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z')];
    expect(rebucketSpan([newest], existing, periods)).toEqual(r('2026-11-15T00:00:00Z', '2027-01-15T00:00:00Z'));
  });

  it('an emptied window left by an earlier rebuild (not among the windows holding events) does not widen the span', () => {
    const periods = anniversary(3);
    const marchFallback = r('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z');
    // Holding events, March's fallback window pulls in February's period; emptied, it is not passed in.
    expect(rebucketSpan([periods[2]], [...periods.slice(0, 2), marchFallback], periods)).toEqual(r('2026-02-15T00:00:00Z', '2026-04-15T00:00:00Z'));
    expect(rebucketSpan([periods[2]], periods.slice(0, 2), periods)).toEqual(periods[2]);
  });
});

describe('retainedSpan', () => {
  const periods = anniversary(12);

  it('is the span itself when it starts at or after the cut-off', () => {
    const span = r('2026-06-15T00:00:00Z', '2026-08-15T00:00:00Z');
    expect(retainedSpan(span, d('2026-06-15T00:00:00Z'), periods, periods)).toBe(span);
  });

  it('starts at the first period boundary after the cut-off when periods cover it', () => {
    const span = r('2026-01-15T00:00:00Z', '2026-12-15T00:00:00Z');
    expect(retainedSpan(span, d('2026-05-03T00:00:00Z'), periods, periods)).toEqual(r('2026-05-15T00:00:00Z', '2026-12-15T00:00:00Z'));
    // The cut-off on a boundary is itself the start.
    expect(retainedSpan(span, d('2026-05-15T00:00:00Z'), periods, periods)).toEqual(r('2026-05-15T00:00:00Z', '2026-12-15T00:00:00Z'));
  });

  it('never starts inside a window holding events, nor inside a month with fallback time', () => {
    // No periods: fallback months only, and a window of a former period from May 10 to June 10 holding events.
    const span = r('2026-01-01T00:00:00Z', '2026-09-01T00:00:00Z');
    const existing = [r('2026-05-10T00:00:00Z', '2026-06-10T00:00:00Z')];
    // Cut-off May 3: not May 10 (inside the May fallback month), not June 1 (inside the old window) -> July 1.
    expect(retainedSpan(span, d('2026-05-03T00:00:00Z'), existing, [])).toEqual(r('2026-07-01T00:00:00Z', '2026-09-01T00:00:00Z'));
  });

  it('is undefined when no safe start lies before the span end', () => {
    const span = r('2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
    expect(retainedSpan(span, d('2026-01-10T00:00:00Z'), [], [])).toBeUndefined();
  });

  it('every instant at or after the chosen start maps to windows wholly at or after it (exhaustive over a year)', () => {
    const existing = [...periods.slice(0, 6), r('2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z')];
    const known = periods.slice(0, 6); // periods end July 15; fallback months after
    const span = r('2026-01-15T00:00:00Z', '2027-01-01T00:00:00Z');
    for (let day = 0; day < 340; day += 1) {
      const cut = new Date(Date.UTC(2026, 0, 16) + day * 86_400_000);
      const got = retainedSpan(span, cut, existing, known);
      if (!got) continue;
      expect(got.start.getTime()).toBeGreaterThanOrEqual(cut.getTime());
      for (const w of [...existing, ...known]) expect(w.start < got.start && got.start < w.end).toBe(false);
      const inPeriod = known.some((p) => p.start <= got.start && got.start < p.end);
      if (!inPeriod) expect(got.start.getUTCDate() === 1 && got.start.getUTCHours() === 0 || known.some((p) => p.end.getTime() === got.start.getTime())).toBe(true);
    }
  });
});
