import { Dec, priceProratedCharge, prorateHolding, prorationDays, type ProratedEvent } from '@tally/pricing';
import { proratedCorrection, proratedUsage, ProratedUsageError, type ProratedUsageSource } from './prorated-usage';

const toEvents = (prorated: Array<{ units: string; proratedUnits: string }>): ProratedEvent[] => prorated.map((e) => ({ units: new Dec(e.units), proratedUnits: new Dec(e.proratedUnits) }));
const VOLUME = { volume_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '3', flat_amount: '0' }, { from_value: 11, to_value: null, per_unit_amount: '2', flat_amount: '5' }] };

// November 2026 in Shanghai: 30 local days from 2026-10-31T16:00Z.
const NOVEMBER = { start: '2026-10-31T16:00:00.000Z', end: '2026-11-30T16:00:00.000Z' };
const source = (over: Partial<ProratedUsageSource> = {}): ProratedUsageSource => ({
  meter: 'seats', openingUnits: '0', periodUnits: '0', heldUnitDays: '0', nominal: NOVEMBER, active: NOVEMBER, timeZone: 'Asia/Shanghai', ...over,
});

describe('proratedUsage', () => {
  it('bills Lago\'s formula by hand: 10 seats held, 6 added on Nov 21, 2 removed on Nov 11 (Shanghai, 30 days)', () => {
    // heldUnitDays = 6 × 10 − 2 × 20 = 20; prorated = 10 × 30/30 + 20/30 = 10.6̅; × 3 = 32.
    const usage = proratedUsage(source({ openingUnits: '10', periodUnits: '4', heldUnitDays: '20' }));
    expect(usage.units).toBe('14');
    const priced = priceProratedCharge('standard', { amount: '3' }, toEvents(usage.prorated));
    expect(priced.amount.toDecimalPlaces(20).toFixed()).toBe('32');
    // Volume: 14 seats at period end land in 11–∞ (2 each) → 10.6̅ × 2 + flat 5 = 26.3̅.
    expect(priceProratedCharge('volume', VOLUME, toEvents(usage.prorated)).amount.toDecimalPlaces(2).toFixed()).toBe('26.33');
  });

  it('splits a change whose prorated units exceed its full units (5 seats added on day 1, removed on day 20) so the library accepts it', () => {
    // 5 × 30 − 5 × 11 = 95 unit-days: 0 units at period end, 95/30 prorated.
    const usage = proratedUsage(source({ periodUnits: '0', heldUnitDays: '95' }));
    expect(usage.units).toBe('0');
    const events = toEvents(usage.prorated);
    expect(events.reduce((a, e) => a.plus(e.units), new Dec(0)).toFixed()).toBe('0');
    expect(priceProratedCharge('standard', { amount: '30' }, events).amount.toDecimalPlaces(20).toFixed()).toBe('95');
  });

  it('counts the opening units only up to the day a cancellation ended the period', () => {
    // Canceled on Nov 20 at 10:00 Shanghai: 20 of 30 days held.
    const usage = proratedUsage(source({ openingUnits: '3', active: { start: NOVEMBER.start, end: '2026-11-20T02:00:00.000Z' } }));
    expect(usage.prorated).toEqual([{ units: '3', proratedUnits: '2' }]);
  });

  it('refuses a period whose usage carries no heldUnitDays (a meter that is not a SUM), unless nothing changed', () => {
    expect(() => proratedUsage(source({ periodUnits: '7', heldUnitDays: null }))).toThrow(ProratedUsageError);
    expect(() => proratedUsage(source({ periodUnits: '7', heldUnitDays: null }))).toThrow(/carries no heldUnitDays.*SUM meters/);
    expect(proratedUsage(source({ openingUnits: '2', periodUnits: '0', heldUnitDays: null }))).toEqual({ units: '2', prorated: [{ units: '2', proratedUnits: '2' }] });
  });

  it('prices as Lago prices the events one by one (prorateHolding), for standard and volume, in several zones and period shapes', () => {
    // A deterministic pseudo-random walk of seat changes.
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const shapes: Array<{ timeZone: string; nominal: { start: string; end: string }; active: { start: string; end: string } }> = [
      { timeZone: 'Asia/Shanghai', nominal: NOVEMBER, active: NOVEMBER },
      // Berlin March (DST): 31 days.
      { timeZone: 'Europe/Berlin', nominal: { start: '2026-02-28T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' }, active: { start: '2026-02-28T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' } },
      // A first period from Jan 15 (New York), against January's 31 days.
      { timeZone: 'America/New_York', nominal: { start: '2026-01-01T05:00:00.000Z', end: '2026-02-01T05:00:00.000Z' }, active: { start: '2026-01-15T05:00:00.000Z', end: '2026-02-01T05:00:00.000Z' } },
      // Canceled mid-period (Shanghai, Nov 20 10:00).
      { timeZone: 'Asia/Shanghai', nominal: NOVEMBER, active: { start: NOVEMBER.start, end: '2026-11-20T02:00:00.000Z' } },
    ];
    for (const shape of shapes) {
      for (let round = 0; round < 25; round++) {
        const start = new Date(shape.active.start).getTime();
        const end = new Date(shape.active.end).getTime();
        const first = shape.active.start === shape.nominal.start;
        const opening = first ? Math.floor(next() * 12) : 0;
        const changes = Array.from({ length: 1 + Math.floor(next() * 6) }, () => ({ at: new Date(start + Math.floor(next() * (end - start))), units: String(Math.floor(next() * 9) - 3) }))
          .sort((a, b) => a.at.getTime() - b.at.getTime());
        const lastInstant = new Date(end - 1);
        const period = { start: shape.nominal.start, end: shape.nominal.end, timeZone: shape.timeZone };
        const { periodDays } = prorationDays({ periodStart: shape.nominal.start, periodEnd: shape.nominal.end, from: shape.nominal.start, to: shape.nominal.end, timeZone: shape.timeZone });
        // Lago, one event at a time: the opening held from before the period, each change until the period's (active) end.
        const lago: ProratedEvent[] = [
          ...(opening === 0 ? [] : [prorateHolding({ units: String(opening), from: new Date(start - 1), to: lastInstant }, period)]),
          ...changes.map((c) => prorateHolding({ units: c.units, from: c.at, to: lastInstant }, period)),
        ];
        // What aggregation keeps: Σ value × days held to the period's last day.
        const held = changes.reduce((a, c) => a.plus(prorateHolding({ units: c.units, from: c.at, to: lastInstant }, period).proratedUnits.times(periodDays)), new Dec(0));
        const usage = proratedUsage({
          meter: 'seats', openingUnits: String(opening), periodUnits: changes.reduce((a, c) => a.plus(c.units), new Dec(0)).toFixed(), heldUnitDays: held.toDecimalPlaces(30).toFixed(),
          nominal: shape.nominal, active: shape.active, timeZone: shape.timeZone,
        });
        for (const [model, properties] of [['standard', { amount: '3.7' }], ['volume', VOLUME]] as const) {
          const ours = priceProratedCharge(model, properties, toEvents(usage.prorated)).amount.toDecimalPlaces(12);
          const theirs = priceProratedCharge(model, properties, lago).amount.toDecimalPlaces(12);
          expect([shape.timeZone, round, model, ours.toFixed()]).toEqual([shape.timeZone, round, model, theirs.toFixed()]);
        }
      }
    }
  });
});

describe('proratedCorrection', () => {
  const charge = { meter: 'seats', model: 'standard', properties: { amount: '3' } };
  const period = { nominal: NOVEMBER, active: NOVEMBER, timeZone: 'Asia/Shanghai' };
  const start = new Date(NOVEMBER.start);
  // Billed: 10 seats held at the opening, +6 on Nov 21 (60 unit-days): (10 + 2) × 3 = 36.
  const billed = { units: '6', heldUnitDays: '60', openingUnits: '10' };

  it('bills a late seat added on Nov 11 for its 20 days: 20/30 × 3 = 2', () => {
    const c = proratedCorrection(charge, billed, { units: '7', heldUnitDays: '80', openingUnits: '10' }, period, start)!;
    expect([c.units, c.heldUnitDays, c.amount.toDecimalPlaces(20).toFixed()]).toEqual(['1', '20', '2']);
  });

  it('credits a late removal on Nov 26 (5 days): −5/30 × 3 = −0.5, and a same-period add/remove pair by its days only', () => {
    expect(proratedCorrection(charge, billed, { units: '5', heldUnitDays: '55', openingUnits: '10' }, period, start)!.amount.toDecimalPlaces(20).toFixed()).toBe('-0.5');
    // +1 on day 3 and −1 on day 18: 0 units, 28 − 13 = 15 unit-days: 15/30 × 3 = 1.5.
    const pair = proratedCorrection(charge, billed, { units: '6', heldUnitDays: '75', openingUnits: '10' }, period, start)!;
    expect([pair.units, pair.amount.toDecimalPlaces(20).toFixed()]).toEqual(['0', '1.5']);
  });

  it('re-prices a period whose opening a late event of an earlier period raised: +1 seat held all 30 days = 3', () => {
    const c = proratedCorrection(charge, billed, { units: '6', heldUnitDays: '60', openingUnits: '11' }, period, start)!;
    expect([c.units, c.heldUnitDays, c.openingUnits, c.amount.toDecimalPlaces(20).toFixed()]).toEqual(['0', '0', '1', '3']);
    expect(c.description).toContain('+1 held at its opening');
  });

  it('is null when nothing moved, and prices volume by the range of the units held at the end', () => {
    expect(proratedCorrection(charge, billed, { units: '6', heldUnitDays: '60', openingUnits: '10' }, period, start)).toBeNull();
    // 16 → 17 seats: still 11–∞ at 2; +20/30 prorated seats → +1.333…; the flat amount is not billed twice.
    const c = proratedCorrection({ meter: 'seats', model: 'volume', properties: VOLUME }, billed, { units: '7', heldUnitDays: '80', openingUnits: '10' }, period, start)!;
    expect(c.amount.toDecimalPlaces(6).toFixed()).toBe('1.333333');
  });
});

