import { backtest, prng, projectAt, syntheticSeries } from './usage-forecast.backtest';
import { DAY_MS, decideForecast, forecastUsage, type DayUsage } from './usage-forecast';

const START = Date.UTC(2026, 5, 1);
const END = START + 30 * DAY_MS;
const day = (d: number, value: string | number): DayUsage => ({ startMs: START + d * DAY_MS, endMs: START + (d + 1) * DAY_MS, value: String(value) });
const daysOf = (values: number[]) => values.map((v, d) => day(d, v));
const sum = (values: number[]) => values.reduce((a, v) => a + v, 0);

describe('forecastUsage', () => {
  describe('minimum of data', () => {
    it('forecasts nothing before 3 days have elapsed, however much usage there is', () => {
      const days = daysOf([500, 500]);
      expect(forecastUsage({ usage: '1000', periodStartMs: START, periodEndMs: END, nowMs: START + 3 * DAY_MS - 1, days })).toBeNull();
      expect(forecastUsage({ usage: '1000', periodStartMs: START, periodEndMs: END, nowMs: START + 3 * DAY_MS, days })).not.toBeNull();
    });

    it('needs 2 complete days with usage: one burst day, zero days and the running day do not count', () => {
      const at = START + 3.5 * DAY_MS;
      expect(forecastUsage({ usage: '900', periodStartMs: START, periodEndMs: END, nowMs: at, days: [day(0, 0), day(1, 900), day(2, 0)] })).toBeNull();
      // Day 3 is still running at 3.5 days: not complete.
      expect(forecastUsage({ usage: '1000', periodStartMs: START, periodEndMs: END, nowMs: at, days: [day(1, 900), day(3, 100)] })).toBeNull();
      expect(forecastUsage({ usage: '1000', periodStartMs: START, periodEndMs: END, nowMs: at, days: [day(1, 900), day(2, 100)] })).not.toBeNull();
    });

    it('ignores DAY aggregates of the previous period (period rollover) and of days not wholly inside it', () => {
      const previous = { startMs: START - DAY_MS, endMs: START, value: '100000' };
      const straddling = { startMs: START - DAY_MS / 2, endMs: START + DAY_MS / 2, value: '100000' };
      const now = START + 4 * DAY_MS;
      const withOld = forecastUsage({ usage: '400', periodStartMs: START, periodEndMs: END, nowMs: now, days: [previous, straddling, ...daysOf([100, 100, 100, 100])] });
      const without = forecastUsage({ usage: '400', periodStartMs: START, periodEndMs: END, nowMs: now, days: daysOf([100, 100, 100, 100]) });
      expect(withOld).toEqual(without);
      expect(without!.projected).toBe('3000');
    });

    it('gives no forecast for a period of no length and the usage itself at or after the end', () => {
      expect(forecastUsage({ usage: '5', periodStartMs: START, periodEndMs: START, nowMs: START + 5 * DAY_MS, days: [] })).toBeNull();
      expect(forecastUsage({ usage: '1234.5', periodStartMs: START, periodEndMs: END, nowMs: END, days: [] })!.projected).toBe('1234.5');
      expect(forecastUsage({ usage: '1234.5', periodStartMs: START, periodEndMs: END, nowMs: END + DAY_MS, days: [] })!.projected).toBe('1234.5');
    });

    it('refuses a meter whose days sum to more than its period (MAX or LATEST): it is not additive', () => {
      // A MAX meter: each day's maximum is 50, the period's maximum too.
      expect(forecastUsage({ usage: '50', periodStartMs: START, periodEndMs: END, nowMs: START + 10 * DAY_MS, days: daysOf(Array(10).fill(50)) })).toBeNull();
    });
  });

  it('projects a steady meter to its run-rate exactly, at midnight and within a day', () => {
    const values = Array(12).fill(100);
    const f = forecastUsage({ usage: '1200', periodStartMs: START, periodEndMs: END, nowMs: START + 12 * DAY_MS, days: daysOf(values) })!;
    expect(f).toEqual({ projected: '3000', runRate: '3000', trend: '3000', trendWeight: 0.75 });
    const half = forecastUsage({ usage: '1250', periodStartMs: START, periodEndMs: END, nowMs: START + 12.5 * DAY_MS, days: daysOf(values) })!;
    expect(half.projected).toBe('3000');
  });

  it('carries a linear growth to the period end exactly, where the run-rate falls short', () => {
    const all = Array.from({ length: 30 }, (_, d) => 100 + 10 * d);
    const values = all.slice(0, 16);
    const f = forecastUsage({ usage: String(sum(values)), periodStartMs: START, periodEndMs: END, nowMs: START + 16 * DAY_MS, days: daysOf(values) })!;
    expect(Number(f.trend)).toBeCloseTo(sum(all), 6);
    expect(Number(f.runRate)).toBeLessThan(sum(all) * 0.85);
    expect(Number(f.projected)).toBeCloseTo(0.75 * sum(all) + 0.25 * Number(f.runRate), 4);
  });

  it('keeps a weekly rhythm: a period ending on a weekend is not projected at the weekday rate', () => {
    // Weekdays 100, weekends 10; two whole weeks known, the period ends after 3 more weekdays and a weekend.
    const rhythm = (d: number) => (d % 7 >= 5 ? 10 : 100);
    const all = Array.from({ length: 19 }, (_, d) => rhythm(d));
    const values = all.slice(0, 14);
    const f = forecastUsage({ usage: String(sum(values)), periodStartMs: START, periodEndMs: START + 19 * DAY_MS, nowMs: START + 14 * DAY_MS, days: daysOf(values) })!;
    expect(Number(f.trend)).toBeCloseTo(sum(all), 6);
  });

  it('counts days without a DAY aggregate after the first one as zero, and never projects below the usage', () => {
    // Usage stopped: 8 days of 100, then nothing for 6 days.
    const days = daysOf(Array(8).fill(100));
    const f = forecastUsage({ usage: '800', periodStartMs: START, periodEndMs: END, nowMs: START + 14 * DAY_MS, days })!;
    expect(Number(f.trend)).toBeGreaterThanOrEqual(800);
    expect(Number(f.projected)).toBeLessThan(Number(f.runRate));
  });

  it('reads only the days that started within the last 29 days: a long period is projected from its recent use', () => {
    const yearEnd = START + 365 * DAY_MS;
    // 60 busy days of 1000, then 40 quiet days of 10: the recent level is 10 a day.
    const values = [...Array(60).fill(1000), ...Array(40).fill(10)];
    const now = START + 100 * DAY_MS;
    const f = forecastUsage({ usage: String(sum(values)), periodStartMs: START, periodEndMs: yearEnd, nowMs: now, days: daysOf(values) })!;
    expect(Number(f.trend)).toBeCloseTo(sum(values) + 265 * 10, 6);
    const recentOnly = forecastUsage({ usage: String(sum(values)), periodStartMs: START, periodEndMs: yearEnd, nowMs: now, days: daysOf(values).slice(71) })!;
    expect(recentOnly).toEqual(f);
  });

  it('is deterministic and uses the newest value the caller gives for a day', () => {
    const input = { usage: '1000', periodStartMs: START, periodEndMs: END, nowMs: START + 10 * DAY_MS, days: daysOf(Array(10).fill(100)) };
    expect(forecastUsage(input)).toEqual(forecastUsage({ ...input, days: [...input.days].reverse() }));
  });
});

describe('decideForecast', () => {
  it('fires when the projection reaches 100 % of included while usage is below 90 %', () => {
    expect(decideForecast('1000', '500', '1000', false)).toBe('fire');
    expect(decideForecast('999.999999', '500', '1000', false)).toBe('none');
    expect(decideForecast('1000.5', '899.99', '1000', false)).toBe('fire');
    // At 90 % the percent alerts speak; the forecast is late.
    expect(decideForecast('5000', '900', '1000', false)).toBe('none');
  });

  it('fires once: an active forecast stays quiet while the projection stays at or above 100 %', () => {
    expect(decideForecast('1200', '600', '1000', true)).toBe('none');
    expect(decideForecast('1000', '600', '1000', true)).toBe('none');
  });

  it('re-arms when the projection falls back below 100 %, then fires again on the next crossing', () => {
    expect(decideForecast('990', '600', '1000', true)).toBe('rearm');
    expect(decideForecast('1010', '610', '1000', false)).toBe('fire');
  });

  it('changes nothing without a forecast (too little data), and never fires with nothing included', () => {
    expect(decideForecast(null, '500', '1000', false)).toBe('none');
    expect(decideForecast(null, '500', '1000', true)).toBe('none');
    expect(decideForecast('100', '10', '0', false)).toBe('none');
    expect(decideForecast('100', '10', '-5', false)).toBe('none');
  });
});

describe('backtest', () => {
  // 200 seeded series of each kind; the README's table comes from the same function.
  const rows = backtest(200, 42);
  const row = (kind: string, fraction: number) => rows.find((r) => r.kind === kind && r.fraction === fraction)!;

  it.each([0.25, 0.5, 0.75])('beats or matches the run-rate on growing and weekly seasonal series at %p of the period', (fraction) => {
    for (const kind of ['growing', 'seasonal']) expect(row(kind, fraction).forecastMape).toBeLessThanOrEqual(row(kind, fraction).runRateMape + 1e-9);
  });

  it('beats the run-rate clearly on growing series once more than a week is known', () => {
    expect(row('growing', 0.5).forecastMape).toBeLessThan(row('growing', 0.5).runRateMape / 2);
    expect(row('growing', 0.75).forecastMape).toBeLessThan(row('growing', 0.75).runRateMape / 2);
  });

  it('stays within 3 % MAPE on steady series (±15 % daily noise) and within 1.5 points of the run-rate on spiky ones', () => {
    for (const fraction of [0.25, 0.5, 0.75]) {
      expect(row('steady', fraction).forecastMape).toBeLessThan(3);
      expect(row('spiky', fraction).forecastMape).toBeLessThan(row('spiky', fraction).runRateMape + 1.5);
    }
  });

  it('generates the same series for the same seed and measures the projection of the whole period', () => {
    expect(syntheticSeries('spiky', prng(1))).toEqual(syntheticSeries('spiky', prng(1)));
    const flat = Array(30).fill(10);
    expect(projectAt(flat, 0.5)).toEqual({ actual: 300, forecast: 300, runRate: 300 });
  });
});
