import { prorateHolding } from '@tally/pricing';
import type { Aggregation, UsageEvent } from '@tally/contracts';
import { daysHeld, isKnownTimeZone, localMidnights } from './held-unit-days';
import { computeWindowDeltas } from './window-deltas';
import type { BillingPeriod } from './windows';

const at = (iso: string) => new Date(iso);
const period = (start: string, end: string) => ({ start: at(start), end: at(end) });

describe('daysHeld: days from the event\'s local day to the period\'s last local day, both included', () => {
  // November 2026 in Shanghai (UTC+8, no DST): 2026-11-01T00:00+08 .. 2026-12-01T00:00+08, 30 days.
  const shanghai = period('2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z');

  it('counts the whole period at its first instant and 1 on its last local day (Asia/Shanghai)', () => {
    expect(localMidnights(shanghai.start, shanghai.end, 'Asia/Shanghai')).toHaveLength(29);
    expect(daysHeld(shanghai.start, shanghai, 'Asia/Shanghai')).toBe(30);
    expect(daysHeld(at('2026-11-30T00:00:00+08:00'), shanghai, 'Asia/Shanghai')).toBe(1);
    expect(daysHeld(at('2026-11-30T23:59:59.999+08:00'), shanghai, 'Asia/Shanghai')).toBe(1);
    // Still October 31st in UTC, already November 1st in Shanghai: the first day.
    expect(daysHeld(at('2026-10-31T20:00:00Z'), shanghai, 'Asia/Shanghai')).toBe(30);
  });

  it('puts an event exactly at local midnight on the day it starts', () => {
    expect(daysHeld(at('2026-11-10T00:00:00+08:00'), shanghai, 'Asia/Shanghai')).toBe(21);
    expect(daysHeld(at('2026-11-09T23:59:59.999+08:00'), shanghai, 'Asia/Shanghai')).toBe(22);
  });

  it('counts calendar days across a DST change (Europe/Berlin March: 31 days of 743 hours)', () => {
    const march = period('2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z');
    expect(localMidnights(march.start, march.end, 'Europe/Berlin')).toHaveLength(30);
    expect(daysHeld(at('2026-03-29T12:00:00+02:00'), march, 'Europe/Berlin')).toBe(3);
    // Midnight after the spring-forward night is 22:00 UTC, not 23:00.
    expect(daysHeld(at('2026-03-29T22:00:00Z'), march, 'Europe/Berlin')).toBe(2);
    expect(daysHeld(at('2026-03-29T21:59:59.999Z'), march, 'Europe/Berlin')).toBe(3);
    // America/New_York November (falls back on the 1st): 30 days.
    const november = period('2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z');
    expect(daysHeld(november.start, november, 'America/New_York')).toBe(30);
    expect(daysHeld(at('2026-11-02T00:00:00-05:00'), november, 'America/New_York')).toBe(29);
  });

  it('handles a day whose midnight does not exist (America/Santiago springs forward at 24:00)', () => {
    // September 2026 in Santiago: the 6th starts at 01:00 local (04:00Z) since 00:00 is skipped.
    const september = period('2026-09-01T04:00:00.000Z', '2026-10-01T03:00:00.000Z');
    expect(localMidnights(september.start, september.end, 'America/Santiago')).toContain(at('2026-09-06T04:00:00Z').getTime());
    expect(daysHeld(at('2026-09-06T03:59:59.999Z'), september, 'America/Santiago')).toBe(26);
    expect(daysHeld(at('2026-09-06T04:00:00Z'), september, 'America/Santiago')).toBe(25);
  });

  it('counts to the last day of an anniversary period, of a first period starting mid-day and of one ended early', () => {
    const anniversary = period('2026-01-14T16:00:00.000Z', '2026-02-14T16:00:00.000Z'); // Jan 15 .. Feb 14 in Shanghai
    expect(daysHeld(anniversary.start, anniversary, 'Asia/Shanghai')).toBe(31);
    expect(daysHeld(at('2026-02-14T10:00:00+08:00'), anniversary, 'Asia/Shanghai')).toBe(1);
    const firstFromNoon = period('2026-11-15T05:00:00.000Z', '2026-11-30T16:00:00.000Z'); // Nov 15 13:00 .. Dec 1 in Shanghai
    expect(daysHeld(firstFromNoon.start, firstFromNoon, 'Asia/Shanghai')).toBe(16);
    const canceledAt10 = period('2026-10-31T16:00:00.000Z', '2026-11-20T02:00:00.000Z'); // ends Nov 20 10:00 Shanghai
    expect(daysHeld(at('2026-11-20T09:00:00+08:00'), canceledAt10, 'Asia/Shanghai')).toBe(1);
    expect(daysHeld(canceledAt10.start, canceledAt10, 'Asia/Shanghai')).toBe(20);
  });

  it('agrees with the pricing library\'s prorateHolding for every hour of several periods and zones', () => {
    const cases: Array<[string, string, string]> = [
      ['Asia/Shanghai', '2026-10-31T16:00:00.000Z', '2026-11-30T16:00:00.000Z'],
      ['Europe/Berlin', '2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z'],
      ['Europe/Berlin', '2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z'],
      ['America/Santiago', '2026-09-01T04:00:00.000Z', '2026-10-01T03:00:00.000Z'],
      ['Australia/Lord_Howe', '2026-09-30T13:30:00.000Z', '2026-10-31T13:00:00.000Z'],
      ['UTC', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
      ['Pacific/Kiritimati', '2026-01-14T10:00:00.000Z', '2026-02-14T10:00:00.000Z'],
    ];
    for (const [timeZone, start, end] of cases) {
      const p = period(start, end);
      const days = localMidnights(p.start, p.end, timeZone).length + 1;
      for (let t = p.start.getTime(); t < p.end.getTime(); t += 3_600_000 + 7_919) {
        const lago = prorateHolding({ units: '1', from: new Date(t) }, { start: p.start, end: p.end, timeZone }).proratedUnits.times(days);
        expect([timeZone, new Date(t).toISOString(), daysHeld(t, p, timeZone)]).toEqual([timeZone, new Date(t).toISOString(), lago.toNumber()]);
      }
    }
  });

  it('knows which time zones the runtime has', () => {
    expect(isKnownTimeZone('Asia/Shanghai')).toBe(true);
    expect(isKnownTimeZone('Mars/Olympus')).toBe(false);
    expect(isKnownTimeZone('')).toBe(false);
  });
});

describe('computeWindowDeltas with prorated meters', () => {
  let seq = 0;
  const event = (time: string, readings: Array<{ meter: string; aggregation: Aggregation; value: string | null }>, subject = 'cust-1'): UsageEvent => {
    seq += 1;
    return { eventId: `e${seq}`, occurredAt: time, tenant: 'acme', id: `r${seq}`, source: 's', type: 't', subject, time, data: {}, readings: readings.map((r) => ({ ...r, groupBy: {} })) };
  };
  const november: BillingPeriod = {
    start: at('2026-10-31T16:00:00.000Z'),
    end: at('2026-11-30T16:00:00.000Z'),
    proration: { timeZone: 'Asia/Shanghai', meters: new Set(['seats', 'logins']) },
  };
  const deltasOf = (events: UsageEvent[], periods: BillingPeriod[] = [november]) => [...computeWindowDeltas(events, () => periods).values()];

  it('sums value × days held on the PERIOD window of a prorated SUM meter, negative values included', () => {
    const deltas = deltasOf([
      event('2026-11-01T00:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '3' }]), // 3 × 30
      event('2026-11-10T00:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '2.5' }]), // 2.5 × 21
      event('2026-11-30T23:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '-1' }]), // −1 × 1
    ]);
    const period = deltas.find((d) => d.window.kind === 'PERIOD' && d.meter === 'seats')!;
    expect(period.sum.toFixed()).toBe('4.5');
    expect(period.heldUnitDays?.toFixed()).toBe('141.5');
    for (const d of deltas.filter((x) => x.window.kind === 'DAY')) expect(d.heldUnitDays).toBeNull();
  });

  it('keeps none for a meter not charged prorated, a prorated meter that is not a SUM, or a period without proration', () => {
    const deltas = deltasOf([
      event('2026-11-05T12:00:00+08:00', [
        { meter: 'api-calls', aggregation: 'SUM', value: '7' },
        { meter: 'logins', aggregation: 'COUNT', value: null },
      ]),
    ]);
    for (const d of deltas) expect(d.heldUnitDays).toBeNull();
    const plain = deltasOf([event('2026-11-05T12:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '7' }])], [{ start: november.start, end: november.end }]);
    for (const d of plain) expect(d.heldUnitDays).toBeNull();
    // Outside every known period: the calendar-month fallback window keeps none either.
    const fallback = deltasOf([event('2026-12-05T12:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '7' }])]);
    for (const d of fallback) expect(d.heldUnitDays).toBeNull();
  });

  it('keeps 0 (not none) when a prorated window only got additions and removals that cancel out on the same day', () => {
    const [d] = deltasOf([
      event('2026-11-12T09:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '4' }]),
      event('2026-11-12T18:00:00+08:00', [{ meter: 'seats', aggregation: 'SUM', value: '-4' }]),
    ]).filter((x) => x.window.kind === 'PERIOD');
    expect(d.sum.toFixed()).toBe('0');
    expect(d.heldUnitDays?.toFixed()).toBe('0');
  });
});
