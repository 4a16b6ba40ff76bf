import { PricingError } from '../charge-model';
import { roundToMinorUnit } from './currency';
import { localDate, prorate, prorationDays, proratePlanChange } from './proration';

const JAN = { periodStart: '2025-01-01T00:00:00Z', periodEnd: '2025-02-01T00:00:00Z' };
const FEB = { periodStart: '2025-02-01T00:00:00Z', periodEnd: '2025-03-01T00:00:00Z' };
const APR = { periodStart: '2025-04-01T00:00:00Z', periodEnd: '2025-05-01T00:00:00Z' };
const eur = (d: { toFixed(): string }) => roundToMinorUnit(d.toFixed(), 'EUR').toFixed(2);

describe('prorate by calendar day', () => {
  it('bills the full amount for the full period', () => {
    expect(prorationDays({ ...JAN, from: JAN.periodStart, to: JAN.periodEnd })).toMatchObject({ days: 31, periodDays: 31 });
    expect(prorate('49.99', { ...JAN, from: JAN.periodStart, to: JAN.periodEnd }).toFixed()).toBe('49.99');
  });

  it('bills half for the second half of a 30-day month', () => {
    const w = { ...APR, from: '2025-04-16T00:00:00Z', to: APR.periodEnd };
    expect(prorationDays(w)).toMatchObject({ days: 15, periodDays: 30 });
    expect(prorate('100', w).toFixed()).toBe('50');
  });

  it('bills a single day as 1/28 of February', () => {
    const w = { ...FEB, from: '2025-02-10T00:00:00Z', to: '2025-02-11T00:00:00Z' };
    expect(prorationDays(w)).toMatchObject({ days: 1, periodDays: 28 });
    expect(prorate('28', w).toFixed()).toBe('1');
    expect(eur(prorate('100', w))).toBe('3.57'); // 3.5714…
  });

  it('counts a partial day as a whole day', () => {
    const w = { ...FEB, from: '2025-02-10T13:00:00Z', to: '2025-02-10T14:00:00Z' };
    expect(prorationDays(w).days).toBe(1);
    // 10 Feb 13:00 → 12 Feb 00:00 touches the 10th and 11th only: a midnight end does not touch the 12th.
    expect(prorationDays({ ...FEB, from: '2025-02-10T13:00:00Z', to: '2025-02-12T00:00:00Z' }).days).toBe(2);
    expect(prorationDays({ ...FEB, from: '2025-02-10T13:00:00Z', to: '2025-02-12T00:00:00.001Z' }).days).toBe(3);
  });

  it('gives the same 10 days different weights in 31- and 28-day months', () => {
    const jan = { ...JAN, from: '2025-01-22T00:00:00Z', to: JAN.periodEnd };
    const feb = { ...FEB, from: '2025-02-19T00:00:00Z', to: FEB.periodEnd };
    expect(prorationDays(jan)).toMatchObject({ days: 10, periodDays: 31 });
    expect(prorationDays(feb)).toMatchObject({ days: 10, periodDays: 28 });
    expect(prorate('310', jan).toFixed()).toBe('100');
    expect(prorate('280', feb).toFixed()).toBe('100');
    expect(eur(prorate('100', jan))).toBe('32.26'); // 32.2580…
    expect(eur(prorate('100', feb))).toBe('35.71'); // 35.7142…
    expect(prorationDays({ periodStart: '2024-02-01T00:00:00Z', periodEnd: '2024-03-01T00:00:00Z', from: '2024-02-01T00:00:00Z', to: '2024-03-01T00:00:00Z' }).periodDays).toBe(29);
  });

  it('clips the window to the period and gives 0 for an empty or outside window', () => {
    expect(prorationDays({ ...APR, from: '2025-03-15T00:00:00Z', to: '2025-04-03T00:00:00Z' }).days).toBe(2);
    expect(prorationDays({ ...APR, from: '2025-04-20T00:00:00Z', to: '2025-06-01T00:00:00Z' }).days).toBe(11);
    expect(prorationDays({ ...APR, from: '2025-04-10T00:00:00Z', to: '2025-04-10T00:00:00Z' }).days).toBe(0);
    expect(prorationDays({ ...APR, from: '2025-05-10T00:00:00Z', to: '2025-05-20T00:00:00Z' }).days).toBe(0);
    expect(prorate('100', { ...APR, from: '2025-05-10T00:00:00Z', to: '2025-05-20T00:00:00Z' }).toFixed()).toBe('0');
  });

  describe('in the customer time zone across DST (Europe/Berlin)', () => {
    // March 2025 in Berlin: 31 days but 743 hours (clocks go forward on the 30th).
    const MARCH = { periodStart: '2025-03-01T00:00:00+01:00', periodEnd: '2025-04-01T00:00:00+02:00', timeZone: 'Europe/Berlin' };
    // October 2025 in Berlin: 31 days but 745 hours (clocks go back on the 26th).
    const OCTOBER = { periodStart: '2025-10-01T00:00:00+02:00', periodEnd: '2025-11-01T00:00:00+01:00', timeZone: 'Europe/Berlin' };

    it('counts 31 days in March although it has 743 hours', () => {
      expect(prorationDays({ ...MARCH, from: MARCH.periodStart, to: MARCH.periodEnd })).toMatchObject({ days: 31, periodDays: 31 });
      // From the 23-hour DST day to the end: the 30th and 31st = 2/31 (by hours it would be 47/743).
      const w = { ...MARCH, from: '2025-03-30T00:00:00+01:00', to: MARCH.periodEnd };
      expect(prorationDays(w)).toMatchObject({ days: 2, periodDays: 31 });
      expect(prorate('31', w).toFixed()).toBe('2');
    });

    it('counts 31 days in October although it has 745 hours', () => {
      expect(prorationDays({ ...OCTOBER, from: OCTOBER.periodStart, to: OCTOBER.periodEnd })).toMatchObject({ days: 31, periodDays: 31 });
      const w = { ...OCTOBER, from: '2025-10-26T00:00:00+02:00', to: OCTOBER.periodEnd };
      expect(prorationDays(w)).toMatchObject({ days: 6, periodDays: 31 });
      expect(prorate('31', w).toFixed()).toBe('6');
      // The 25-hour day alone is one day.
      expect(prorationDays({ ...OCTOBER, from: '2025-10-26T00:00:00+02:00', to: '2025-10-27T00:00:00+01:00' }).days).toBe(1);
    });

    it('counts days where the customer lives, not in UTC', () => {
      // The same instants seen in UTC start on 28 Feb 23:00 and end on 31 Mar 22:00: 32 days touched.
      expect(prorationDays({ ...MARCH, timeZone: 'UTC', from: MARCH.periodStart, to: MARCH.periodEnd }).periodDays).toBe(32);
      expect(localDate('2025-03-29T23:30:00Z', 'Europe/Berlin')).toBe('2025-03-30');
      expect(localDate('2025-03-29T23:30:00Z')).toBe('2025-03-29');
    });
  });

  it('refuses a bad time zone, an empty period and a bad instant', () => {
    expect(() => prorationDays({ ...APR, from: APR.periodStart, to: APR.periodEnd, timeZone: 'Mars/Olympus' })).toThrow(PricingError);
    expect(() => prorationDays({ periodStart: APR.periodEnd, periodEnd: APR.periodStart, from: APR.periodStart, to: APR.periodEnd })).toThrow(/period end must be after/);
    expect(() => prorationDays({ ...APR, from: 'yesterday', to: APR.periodEnd })).toThrow(/from must be a valid instant/);
  });
});

describe('proratePlanChange', () => {
  const change = { ...APR, changeAt: '2025-04-11T15:30:00Z' };

  it('credits the unused days of an old fee paid in advance and charges the new fee for the rest', () => {
    const r = proratePlanChange({ ...change, oldBaseFee: { amount: '30', payInAdvance: true }, newBaseFee: { amount: '60' } });
    expect(r).toMatchObject({ changeDate: '2025-04-11', periodDays: 30, daysOnOldPlan: 10, daysOnNewPlan: 20 });
    expect(r.oldPlanCredit.toFixed()).toBe('20');
    expect(r.oldPlanCharge.toFixed()).toBe('0');
    expect(r.newPlanCharge.toFixed()).toBe('40');
  });

  it('charges the used days of an old fee paid in arrears, the change day going to the new plan', () => {
    const r = proratePlanChange({ ...change, oldBaseFee: { amount: '30' }, newBaseFee: { amount: '60' } });
    expect(r.oldPlanCredit.toFixed()).toBe('0');
    expect(r.oldPlanCharge.toFixed()).toBe('10');
    expect(r.newPlanCharge.toFixed()).toBe('40');
    expect(r.daysOnOldPlan + r.daysOnNewPlan).toBe(r.periodDays);
  });

  it('takes the change day in the customer time zone', () => {
    // 10 Apr 23:30 UTC is 11 Apr 01:30 in Berlin.
    const berlin = { periodStart: '2025-04-01T00:00:00+02:00', periodEnd: '2025-05-01T00:00:00+02:00', changeAt: '2025-04-10T23:30:00Z' };
    const fees = { oldBaseFee: { amount: '30', payInAdvance: true }, newBaseFee: { amount: '60' } };
    expect(proratePlanChange({ ...berlin, timeZone: 'Europe/Berlin', ...fees })).toMatchObject({ changeDate: '2025-04-11', daysOnOldPlan: 10, daysOnNewPlan: 20 });
    expect(proratePlanChange({ ...APR, changeAt: berlin.changeAt, ...fees })).toMatchObject({ changeDate: '2025-04-10', daysOnOldPlan: 9, daysOnNewPlan: 21 });
  });

  it('moves everything to the new plan when the change is on the first day', () => {
    const r = proratePlanChange({ ...APR, changeAt: APR.periodStart, oldBaseFee: { amount: '30', payInAdvance: true }, newBaseFee: { amount: '60' } });
    expect(r.oldPlanCredit.toFixed()).toBe('30');
    expect(r.newPlanCharge.toFixed()).toBe('60');
  });

  it('refuses a change outside the period', () => {
    const fees = { oldBaseFee: { amount: '30' }, newBaseFee: { amount: '60' } };
    expect(() => proratePlanChange({ ...APR, changeAt: APR.periodEnd, ...fees })).toThrow(PricingError);
    expect(() => proratePlanChange({ ...APR, changeAt: '2025-03-31T23:59:59Z', ...fees })).toThrow(/within the period/);
  });
});
