import { usageInput, usageWindows, type DailyUsage, type MeterKind } from './usage-input';

const NOW = new Date('2026-03-31T12:00:00Z');
const additive = (): MeterKind => 'additive';
/** `count` days of `value` each, the last one `endDaysAgo` days before NOW. */
function days(meter: string, count: number, value: number, endDaysAgo = 0): DailyUsage[] {
  return Array.from({ length: count }, (_, i) => ({ meter, day: new Date(Date.UTC(2026, 2, 31 - endDaysAgo - i)).toISOString().slice(0, 10), value }));
}

describe('usageWindows', () => {
  it('puts today and the 29 days before it in the current window, the 30 before those in the prior one', () => {
    expect(usageWindows(NOW)).toEqual({ today: '2026-03-31', currentFrom: '2026-03-02', priorFrom: '2026-01-31' });
  });
});

describe('usageInput', () => {
  it('scores steady use at exactly the allowance, every working day, 100 with no bonus', () => {
    // 20 active days of 50 = 1000 in both windows; 1000 included per 30-day period.
    const use = [...days('api', 20, 50), ...days('api', 20, 50, 30)];
    expect(usageInput(use, [{ meter: 'api', included: 1000, periodDays: 30 }], additive, NOW)).toEqual({
      value: 100, level: 100, trend: 100, activeDays: 20, utilizationPercent: 100, bonus: 0,
    });
  });

  it('weights level 40 %, trend 30 %, active days 30 %', () => {
    // current: 10 days × 30 = 300 of 1000 (level 30); prior 600 -> trend 50; active 10/20 -> 50.
    // 0.4*30 + 0.3*50 + 0.3*50 = 12 + 15 + 15 = 42
    const use = [...days('api', 10, 30), ...days('api', 10, 60, 30)];
    expect(usageInput(use, [{ meter: 'api', included: 1000, periodDays: 30 }], additive, NOW)).toMatchObject({ value: 42, level: 30, trend: 50, activeDays: 10 });
  });

  it('scales the allowance of a 31-day period to 30 days', () => {
    // 3100 included over 31 days = 3000 per 30 days; 20 days × 150 = 3000 used -> 100 %.
    const use = days('api', 20, 150);
    expect(usageInput(use, [{ meter: 'api', included: 3100, periodDays: 31 }], additive, NOW).utilizationPercent).toBe(100);
  });

  it('gives the excess over the allowance as bonus, at most 50', () => {
    const allow = [{ meter: 'api', included: 1000, periodDays: 30 }];
    // 1300 used: utilization 130 -> base 100 (level capped) + bonus 30
    expect(usageInput(days('api', 20, 65), allow, additive, NOW)).toMatchObject({ value: 130, bonus: 30, utilizationPercent: 130 });
    // 3000 used: utilization 300 -> bonus capped at 50
    expect(usageInput(days('api', 20, 150), allow, additive, NOW)).toMatchObject({ value: 150, bonus: 50 });
    // 1000.5 used: just over -> bonus 0.05
    expect(usageInput([...days('api', 19, 50), ...days('api', 1, 50.5, 19)], allow, additive, NOW).bonus).toBe(0.05);
  });

  it('without an entitlement weighs trend and active days half each', () => {
    // prior 20 days × 10 = 200, current 5 days × 10 = 50 -> trend 25; active 5/20 = 25 -> 25
    const use = [...days('api', 5, 10), ...days('api', 20, 10, 30)];
    expect(usageInput(use, [], additive, NOW)).toEqual({ value: 25, level: null, trend: 25, activeDays: 5, utilizationPercent: null, bonus: 0 });
  });

  it('counts a meter new in the last 30 days as full trend and nothing used at all as 0', () => {
    expect(usageInput(days('api', 20, 1), [], additive, NOW)).toMatchObject({ trend: 100, value: 100 });
    expect(usageInput([], [{ meter: 'api', included: 100, periodDays: 30 }], additive, NOW)).toMatchObject({ value: 0, level: 0, trend: 0, activeDays: 0 });
  });

  it('collapses when use stops: only the prior window held use', () => {
    expect(usageInput(days('api', 20, 50, 30), [{ meter: 'api', included: 1000, periodDays: 30 }], additive, NOW)).toMatchObject({ value: 0, trend: 0, activeDays: 0 });
  });

  it('ignores days outside both windows and days after today', () => {
    const use = [{ meter: 'api', day: '2026-01-30', value: 1e9 }, { meter: 'api', day: '2026-04-01', value: 1e9 }];
    expect(usageInput(use, [], additive, NOW)).toMatchObject({ value: 0, activeDays: 0 });
    // Boundaries: 2026-01-31 is the first prior day, 2026-03-02 the first current day.
    expect(usageInput([{ meter: 'api', day: '2026-01-31', value: 10 }, { meter: 'api', day: '2026-03-02', value: 5 }], [], additive, NOW)).toMatchObject({ trend: 50, activeDays: 1 });
  });

  it('caps active days at full marks after 20 days and does not count zero days', () => {
    expect(usageInput(days('api', 30, 1), [], additive, NOW).activeDays).toBe(30);
    expect(usageInput(days('api', 30, 1), [], additive, NOW).value).toBe(100);
    expect(usageInput(days('api', 30, 0), [], additive, NOW)).toMatchObject({ activeDays: 0, value: 0 });
  });

  it('compares a gauge meter (seats) by its highest day, against the included quantity unscaled', () => {
    const gauge = (): MeterKind => 'gauge';
    // 12 seats at peak of 10 included: 120 %; trend: peak 12 against a prior peak of 8 -> 1
    const use = [...days('seats', 20, 12), ...days('seats', 20, 8, 30)];
    expect(usageInput(use, [{ meter: 'seats', included: 10, periodDays: 31 }], gauge, NOW)).toMatchObject({ utilizationPercent: 120, bonus: 20, trend: 100, value: 120 });
  });

  it('averages utilization and trend over meters', () => {
    const use = [...days('api', 20, 50), ...days('api', 20, 50, 30), ...days('gb', 20, 1, 30)];
    const allow = [{ meter: 'api', included: 1000, periodDays: 30 }, { meter: 'gb', included: 100, periodDays: 30 }];
    // utilization (100 + 0) / 2 = 50; trend (1 + 0) / 2 = 50; active 20 -> 100: 20 + 15 + 30 = 65
    expect(usageInput(use, allow, additive, NOW)).toMatchObject({ utilizationPercent: 50, trend: 50, value: 65 });
  });
});

describe('usageInput with hostile facts', () => {
  it('keeps negative windows (corrections) from making any part negative', () => {
    const use = [...days('api', 5, -100), ...days('api', 20, 50, 30)];
    expect(usageInput(use, [{ meter: 'api', included: 1000, periodDays: 30 }], additive, NOW)).toEqual({ value: 0, level: 0, trend: 0, activeDays: 0, utilizationPercent: -50, bonus: 0 });
  });
});
