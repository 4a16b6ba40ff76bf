import { isTimeZone, nextPeriod, nominalPeriodContaining, periodContaining, zonedMidnight, type PeriodRule } from './billing-periods';

const iso = (d: Date) => d.toISOString();
const rule = (over: Partial<PeriodRule> & Pick<PeriodRule, 'startedAt'>): PeriodRule => ({ billingTime: 'calendar', interval: 'monthly', timeZone: 'UTC', ...over });

describe('zonedMidnight', () => {
  it('is local midnight as an instant, across DST', () => {
    expect(iso(zonedMidnight(2026, 2, 1, 'Europe/Berlin'))).toBe('2026-02-28T23:00:00.000Z');
    expect(iso(zonedMidnight(2026, 3, 1, 'Europe/Berlin'))).toBe('2026-03-31T22:00:00.000Z');
    expect(iso(zonedMidnight(2026, 0, 1, 'America/New_York'))).toBe('2026-01-01T05:00:00.000Z');
    expect(iso(zonedMidnight(2026, 12, 1, 'UTC'))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(zonedMidnight(2026, 0, 1, 'Asia/Kolkata'))).toBe('2025-12-31T18:30:00.000Z');
  });

  it('knows zone names', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('periodContaining', () => {
  it('calendar monthly: the first period runs from the start to the next 1st, then whole months', () => {
    const r = rule({ startedAt: new Date('2026-01-15T10:00:00Z') });
    expect(periodContaining(r, new Date('2026-01-20T00:00:00Z'))).toEqual({ start: new Date('2026-01-15T10:00:00Z'), end: new Date('2026-02-01T00:00:00Z') });
    expect(periodContaining(r, new Date('2026-02-01T00:00:00Z'))).toEqual({ start: new Date('2026-02-01T00:00:00Z'), end: new Date('2026-03-01T00:00:00Z') });
    expect(periodContaining(r, new Date('2026-12-31T23:59:59Z'))).toEqual({ start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
  });

  it('calendar monthly in the customer zone: Berlin months start at Berlin midnight (23:00 or 22:00 UTC)', () => {
    const r = rule({ startedAt: new Date('2026-01-01T00:00:00Z'), timeZone: 'Europe/Berlin' });
    // 2026-01-01T00:00Z is 01:00 in Berlin, so the first period starts then and ends at Berlin's Feb 1.
    expect(periodContaining(r, new Date('2026-01-10T00:00:00Z'))).toEqual({ start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-31T23:00:00Z') });
    expect(periodContaining(r, new Date('2026-04-15T00:00:00Z'))).toEqual({ start: new Date('2026-03-31T22:00:00Z'), end: new Date('2026-04-30T22:00:00Z') });
  });

  it('calendar yearly: from January 1st', () => {
    const r = rule({ startedAt: new Date('2026-05-05T00:00:00Z'), interval: 'yearly' });
    expect(periodContaining(r, new Date('2026-06-01T00:00:00Z'))).toEqual({ start: new Date('2026-05-05T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
    expect(nextPeriod(r, new Date('2027-01-01T00:00:00Z'))).toEqual({ start: new Date('2027-01-01T00:00:00Z'), end: new Date('2028-01-01T00:00:00Z') });
  });

  it('anniversary monthly: renews on the start day, clamped to short months without drifting', () => {
    const r = rule({ startedAt: new Date('2026-01-31T09:00:00Z'), billingTime: 'anniversary' });
    expect(periodContaining(r, new Date('2026-02-10T00:00:00Z'))).toEqual({ start: new Date('2026-01-31T09:00:00Z'), end: new Date('2026-02-28T00:00:00Z') });
    expect(nextPeriod(r, new Date('2026-02-28T00:00:00Z'))).toEqual({ start: new Date('2026-02-28T00:00:00Z'), end: new Date('2026-03-31T00:00:00Z') });
    expect(nextPeriod(r, new Date('2026-03-31T00:00:00Z'))).toEqual({ start: new Date('2026-03-31T00:00:00Z'), end: new Date('2026-04-30T00:00:00Z') });
    // Leap year February.
    expect(periodContaining(r, new Date('2028-02-15T00:00:00Z'))).toEqual({ start: new Date('2028-01-31T00:00:00Z'), end: new Date('2028-02-29T00:00:00Z') });
  });

  it('anniversary yearly', () => {
    const r = rule({ startedAt: new Date('2024-02-29T00:00:00Z'), billingTime: 'anniversary', interval: 'yearly' });
    expect(nextPeriod(r, new Date('2025-02-28T00:00:00Z'))).toEqual({ start: new Date('2025-02-28T00:00:00Z'), end: new Date('2026-02-28T00:00:00Z') });
    expect(periodContaining(r, new Date('2028-03-01T00:00:00Z'))).toEqual({ start: new Date('2028-02-29T00:00:00Z'), end: new Date('2029-02-28T00:00:00Z') });
  });

  it('the nominal period is the whole period a first, partial period belongs to', () => {
    const r = rule({ startedAt: new Date('2026-01-15T10:00:00Z') });
    expect(nominalPeriodContaining(r, new Date('2026-01-20T00:00:00Z'))).toEqual({ start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-02-01T00:00:00Z') });
    const a = rule({ startedAt: new Date('2026-01-15T10:00:00Z'), billingTime: 'anniversary' });
    expect(nominalPeriodContaining(a, new Date('2026-01-20T00:00:00Z'))).toEqual({ start: new Date('2026-01-15T00:00:00Z'), end: new Date('2026-02-15T00:00:00Z') });
  });

  it('never starts before the subscription did', () => {
    const r = rule({ startedAt: new Date('2026-03-10T00:00:00Z') });
    expect(periodContaining(r, new Date('2025-01-01T00:00:00Z')).start).toEqual(new Date('2026-03-10T00:00:00Z'));
  });

  it('consecutive periods tile time without gaps for years', () => {
    for (const r of [
      rule({ startedAt: new Date('2026-01-31T15:00:00Z'), billingTime: 'anniversary', timeZone: 'Europe/Berlin' }),
      rule({ startedAt: new Date('2026-01-31T15:00:00Z'), timeZone: 'America/New_York' }),
    ]) {
      let p = periodContaining(r, r.startedAt);
      expect(p.start).toEqual(r.startedAt);
      for (let i = 0; i < 40; i++) {
        const next = nextPeriod(r, p.end);
        expect(next.start).toEqual(p.end);
        expect(next.end.getTime()).toBeGreaterThan(next.start.getTime() + 27 * 86_400_000);
        p = next;
      }
    }
  });
});
