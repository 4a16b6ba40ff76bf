import { rebucketSpan } from './period-rebucketing';

const d = (s: string) => new Date(s);
const r = (start: string, end: string) => ({ start: d(start), end: d(end) });

describe('rebucketSpan', () => {
  it('is nothing when no period changed', () => {
    expect(rebucketSpan([], [], [])).toBeUndefined();
  });

  it('covers whole calendar months around a new period (the fallback windows its events were counted in)', () => {
    // An anniversary period in Asia/Shanghai: 16:00 UTC on the 14th to the 14th of the next month.
    const period = r('2026-11-14T16:00:00Z', '2026-12-14T16:00:00Z');
    expect(rebucketSpan([period], [], [period])).toEqual(r('2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z'));
  });

  it('grows to existing windows and known periods it overlaps, transitively', () => {
    const changed = r('2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z');
    // An existing window reaching into December, and a known period from there into January.
    const existing = [r('2026-11-20T00:00:00Z', '2026-12-20T00:00:00Z')];
    const known = [changed, r('2026-12-20T00:00:00Z', '2027-01-20T00:00:00Z')];
    expect(rebucketSpan([changed], existing, known)).toEqual(r('2026-11-01T00:00:00Z', '2027-02-01T00:00:00Z'));
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

  it('a canceled (shortened) period keeps the span over the window it used to have', () => {
    const shortened = r('2026-11-15T00:00:00Z', '2026-11-30T00:00:00Z');
    const oldWindow = [r('2026-11-15T00:00:00Z', '2026-12-15T00:00:00Z')];
    expect(rebucketSpan([shortened], oldWindow, [shortened])).toEqual(r('2026-11-01T00:00:00Z', '2027-01-01T00:00:00Z'));
  });
});
