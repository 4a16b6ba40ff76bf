import { calendarMonth, fixedWindow, periodWindow, windowsFor, type BillingPeriod } from './windows';

const at = (iso: string) => new Date(iso);
const iso = (w: { start: Date; end: Date }) => [w.start.toISOString(), w.end.toISOString()];

describe('fixedWindow', () => {
  it('aligns a MINUTE window to the UTC minute', () => {
    const w = fixedWindow('MINUTE', at('2024-03-15T10:27:42.123Z'));
    expect(w.kind).toBe('MINUTE');
    expect(iso(w)).toEqual(['2024-03-15T10:27:00.000Z', '2024-03-15T10:28:00.000Z']);
  });

  it('aligns an HOUR window to the UTC hour', () => {
    const w = fixedWindow('HOUR', at('2024-03-15T10:27:42.123Z'));
    expect(w.kind).toBe('HOUR');
    expect(iso(w)).toEqual(['2024-03-15T10:00:00.000Z', '2024-03-15T11:00:00.000Z']);
  });

  it('aligns a DAY window to UTC midnight', () => {
    const w = fixedWindow('DAY', at('2024-03-15T23:59:59.999Z'));
    expect(w.kind).toBe('DAY');
    expect(iso(w)).toEqual(['2024-03-15T00:00:00.000Z', '2024-03-16T00:00:00.000Z']);
  });

  it('uses UTC, not the offset the time was written in', () => {
    // 01:30 at +02:00 is 23:30 UTC of the previous day.
    expect(iso(fixedWindow('DAY', at('2024-03-16T01:30:00+02:00')))).toEqual([
      '2024-03-15T00:00:00.000Z',
      '2024-03-16T00:00:00.000Z',
    ]);
    // 10:45 at +05:30 is 05:15 UTC.
    expect(iso(fixedWindow('HOUR', at('2024-03-15T10:45:00+05:30')))).toEqual([
      '2024-03-15T05:00:00.000Z',
      '2024-03-15T06:00:00.000Z',
    ]);
  });

  it('starts the new window at a time exactly on a boundary', () => {
    expect(iso(fixedWindow('MINUTE', at('2024-03-15T10:28:00.000Z')))).toEqual([
      '2024-03-15T10:28:00.000Z',
      '2024-03-15T10:29:00.000Z',
    ]);
    expect(iso(fixedWindow('HOUR', at('2024-03-15T11:00:00.000Z')))).toEqual([
      '2024-03-15T11:00:00.000Z',
      '2024-03-15T12:00:00.000Z',
    ]);
    expect(iso(fixedWindow('DAY', at('2024-03-16T00:00:00.000Z')))).toEqual([
      '2024-03-16T00:00:00.000Z',
      '2024-03-17T00:00:00.000Z',
    ]);
  });

  it('keeps the last millisecond before a boundary in the old window', () => {
    expect(iso(fixedWindow('DAY', at('2024-03-15T23:59:59.999Z')))[0]).toBe('2024-03-15T00:00:00.000Z');
    expect(iso(fixedWindow('HOUR', at('2024-03-15T10:59:59.999Z')))[0]).toBe('2024-03-15T10:00:00.000Z');
    expect(iso(fixedWindow('MINUTE', at('2024-03-15T10:27:59.999Z')))[0]).toBe('2024-03-15T10:27:00.000Z');
  });

  it('handles the epoch and times before it', () => {
    expect(iso(fixedWindow('DAY', new Date(0)))).toEqual(['1970-01-01T00:00:00.000Z', '1970-01-02T00:00:00.000Z']);
    expect(iso(fixedWindow('DAY', at('1969-12-31T12:00:00.000Z')))).toEqual([
      '1969-12-31T00:00:00.000Z',
      '1970-01-01T00:00:00.000Z',
    ]);
  });

  it('has windows exactly one unit long', () => {
    const t = at('2024-07-04T08:09:10.011Z');
    const length = (kind: 'MINUTE' | 'HOUR' | 'DAY') => {
      const w = fixedWindow(kind, t);
      return w.end.getTime() - w.start.getTime();
    };
    expect(length('MINUTE')).toBe(60_000);
    expect(length('HOUR')).toBe(3_600_000);
    expect(length('DAY')).toBe(86_400_000);
  });

  it('does not mutate the given date', () => {
    const t = at('2024-03-15T10:27:42.123Z');
    fixedWindow('DAY', t);
    expect(t.toISOString()).toBe('2024-03-15T10:27:42.123Z');
  });
});

describe('calendarMonth', () => {
  it('is the UTC calendar month containing the time, as a PERIOD window', () => {
    const w = calendarMonth(at('2024-03-15T10:27:42.123Z'));
    expect(w.kind).toBe('PERIOD');
    expect(iso(w)).toEqual(['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z']);
  });

  it('rolls December over into January of the next year', () => {
    expect(iso(calendarMonth(at('2023-12-31T23:59:59.999Z')))).toEqual([
      '2023-12-01T00:00:00.000Z',
      '2024-01-01T00:00:00.000Z',
    ]);
  });

  it('starts the new month at exactly midnight of the 1st', () => {
    expect(iso(calendarMonth(at('2024-01-01T00:00:00.000Z')))).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-02-01T00:00:00.000Z',
    ]);
  });

  it('ends a leap-year February after the 29th', () => {
    const w = calendarMonth(at('2024-02-29T12:00:00.000Z'));
    expect(iso(w)).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    expect((w.end.getTime() - w.start.getTime()) / 86_400_000).toBe(29);
  });

  it('ends a non-leap-year February after the 28th', () => {
    const w = calendarMonth(at('2023-02-10T00:00:00.000Z'));
    expect(iso(w)).toEqual(['2023-02-01T00:00:00.000Z', '2023-03-01T00:00:00.000Z']);
    expect((w.end.getTime() - w.start.getTime()) / 86_400_000).toBe(28);
  });

  it('uses the UTC month, not the one of the written offset', () => {
    // 1 April 01:00 at +02:00 is still 31 March UTC.
    expect(iso(calendarMonth(at('2024-04-01T01:00:00+02:00')))).toEqual([
      '2024-03-01T00:00:00.000Z',
      '2024-04-01T00:00:00.000Z',
    ]);
  });
});

describe('periodWindow', () => {
  // Subscription periods that start mid-month, as billing.subscriptions.v1 carries them.
  const periods: BillingPeriod[] = [
    { start: at('2024-02-15T00:00:00.000Z'), end: at('2024-03-15T00:00:00.000Z') },
    { start: at('2024-03-15T00:00:00.000Z'), end: at('2024-04-15T00:00:00.000Z') },
  ];

  it('is the calendar month when no periods are known', () => {
    expect(periodWindow(at('2024-03-20T00:00:00.000Z'))).toEqual(calendarMonth(at('2024-03-20T00:00:00.000Z')));
    expect(periodWindow(at('2024-03-20T00:00:00.000Z'), [])).toEqual(calendarMonth(at('2024-03-20T00:00:00.000Z')));
  });

  it('is the subscription period containing the time', () => {
    const w = periodWindow(at('2024-03-01T12:00:00.000Z'), periods);
    expect(w.kind).toBe('PERIOD');
    expect(iso(w)).toEqual(['2024-02-15T00:00:00.000Z', '2024-03-15T00:00:00.000Z']);
  });

  it('includes the start of a period and excludes its end', () => {
    expect(iso(periodWindow(at('2024-03-15T00:00:00.000Z'), periods))).toEqual(['2024-03-15T00:00:00.000Z', '2024-04-15T00:00:00.000Z']);
    expect(iso(periodWindow(at('2024-03-14T23:59:59.999Z'), periods))).toEqual(['2024-02-15T00:00:00.000Z', '2024-03-15T00:00:00.000Z']);
  });

  it('falls back to the calendar month outside every known period', () => {
    expect(iso(periodWindow(at('2024-04-15T00:00:00.000Z'), periods))).toEqual(['2024-04-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z']);
    expect(iso(periodWindow(at('2024-02-14T23:59:59.999Z'), periods))).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
  });
});

describe('windowsFor', () => {
  it('uses a known subscription period as the PERIOD window', () => {
    const windows = windowsFor(at('2024-03-20T18:00:00.000Z'), [{ start: at('2024-03-15T00:00:00.000Z'), end: at('2024-04-15T00:00:00.000Z') }]);
    expect(windows.map((w) => [w.kind, ...iso(w)])).toEqual([
      ['DAY', '2024-03-20T00:00:00.000Z', '2024-03-21T00:00:00.000Z'],
      ['PERIOD', '2024-03-15T00:00:00.000Z', '2024-04-15T00:00:00.000Z'],
    ]);
  });

  it('returns the DAY window then the calendar-month PERIOD window', () => {
    const windows = windowsFor(at('2024-12-31T18:00:00.000Z'));
    expect(windows.map((w) => [w.kind, ...iso(w)])).toEqual([
      ['DAY', '2024-12-31T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
      ['PERIOD', '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    ]);
  });

  it('puts a time at midnight on the 1st into the new day and the new month', () => {
    const windows = windowsFor(at('2024-03-01T00:00:00.000Z'));
    expect(windows.map((w) => [w.kind, ...iso(w)])).toEqual([
      ['DAY', '2024-03-01T00:00:00.000Z', '2024-03-02T00:00:00.000Z'],
      ['PERIOD', '2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'],
    ]);
  });
});
