import { dailySeries, formatMoney, formatPercent, formatQuantity, heatCell, meterProgress, niceMax, parseRoute, scoreTrend, sparkline } from './usage-math';

describe('meterProgress', () => {
  it('marks thresholds crossed at exactly their percentage, not before', () => {
    const p = meterProgress('75', '100', [50, 75, 90, 100])!;
    expect(p.percent).toBe(75);
    expect(p.thresholds).toEqual([
      { percent: 50, crossed: true },
      { percent: 75, crossed: true },
      { percent: 90, crossed: false },
      { percent: 100, crossed: false },
    ]);
    expect(meterProgress('74.999', '100', [75])!.thresholds[0].crossed).toBe(false);
    // 0.3 of 0.4 is 75 % although 0.3 / 0.4 * 100 is 74.99999999999999 in floating point.
    expect(meterProgress('0.3', '0.4', [75])!.thresholds[0].crossed).toBe(true);
  });

  it('caps the bar at 100 % while the percentage goes on, and knows overage', () => {
    const p = meterProgress('250', '100', [100])!;
    expect(p.percent).toBe(250);
    expect(p.barPercent).toBe(100);
    expect(p.over).toBe(true);
    expect(meterProgress('100', '100', [100])!.over).toBe(false);
    expect(meterProgress('-5', '100', [])!.barPercent).toBe(0);
  });

  it('sorts, de-duplicates and reads decimal-string thresholds; drops non-positive ones', () => {
    expect(meterProgress('40', '120', ['33.3', 90, 33.3, 0, -5, 'x'])!.thresholds.map((t) => t.percent)).toEqual([33.3, 90]);
  });

  it('has nothing to show without an included quantity', () => {
    expect(meterProgress('5', null, [50])).toBeNull();
    expect(meterProgress('5', '0', [50])).toBeNull();
    expect(meterProgress('5', 'garbage', [50])).toBeNull();
  });
});

describe('dailySeries', () => {
  it('has one entry per UTC day of the range, zero on quiet days, summing windows of one day', () => {
    const rows = [
      { windowStart: '2026-11-02T00:00:00Z', value: '3' },
      { windowStart: '2026-11-02T00:00:00.000Z', value: 4 },
      { windowStart: '2026-11-04T00:00:00Z', value: '1.5' },
    ];
    expect(dailySeries(rows, '2026-11-01T00:00:00Z', '2026-11-05T00:00:00Z')).toEqual([
      { day: '2026-11-01', value: 0 },
      { day: '2026-11-02', value: 7 },
      { day: '2026-11-03', value: 0 },
      { day: '2026-11-04', value: 1.5 },
    ]);
  });

  it('starts on the day of a period that begins mid-day, and stops at the end (exclusive)', () => {
    const series = dailySeries([], '2026-10-21T13:00:00Z', '2026-10-23T00:00:00Z');
    expect(series.map((s) => s.day)).toEqual(['2026-10-21', '2026-10-22']);
  });

  it('is empty for an empty, reversed or unreadable range and bounded in length', () => {
    expect(dailySeries([], '2026-11-02T00:00:00Z', '2026-11-02T00:00:00Z')).toEqual([]);
    expect(dailySeries([], '2026-11-03T00:00:00Z', '2026-11-02T00:00:00Z')).toEqual([]);
    expect(dailySeries([], 'soon', '2026-11-02T00:00:00Z')).toEqual([]);
    expect(dailySeries([], '2020-01-01T00:00:00Z', '2026-01-01T00:00:00Z')).toHaveLength(62);
  });
});

describe('formatting', () => {
  it('rounds axis maxima up to 1, 2 or 5 times a power of ten', () => {
    expect([0, -1, 0.3, 1, 7, 95, 100, 101, 2_500].map(niceMax)).toEqual([1, 1, 0.5, 1, 10, 100, 100, 200, 5_000]);
  });

  it('formats money in the currency, quantities and percentages with a dash for nothing', () => {
    expect(formatMoney('29', 'EUR')).toBe('€29.00');
    expect(formatMoney('10.5', 'USD')).toBe('$10.50');
    expect(formatMoney(null, 'EUR')).toBe('—');
    expect(formatMoney('3', 'NOT-A-CODE')).toBe('3 NOT-A-CODE');
    expect(formatQuantity('1234567.123456')).toBe('1,234,567.1235');
    expect(formatQuantity(null)).toBe('—');
    expect(formatPercent(104.256)).toBe('104.3 %');
    expect(formatPercent(null)).toBe('—');
    expect(formatPercent(Number.NaN)).toBe('—');
  });
});

/** WCAG relative luminance contrast of two colours given as hsl() or #rrggbb. */
function contrast(a: string, b: string): number {
  const rgb = (c: string): number[] => {
    if (c.startsWith('#')) return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16) / 255);
    const [h, s, l] = c.match(/[\d.]+/g)!.map(Number);
    const sat = s / 100;
    const light = l / 100;
    const k = (n: number) => (n + h / 30) % 12;
    const f = (n: number) => light - sat * Math.min(light, 1 - light) * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1));
    return [f(0), f(8), f(4)];
  };
  const lum = (c: string) => {
    const [r, g, bl] = rgb(c).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

describe('heatCell', () => {
  it('keeps text contrast at or above 4.5:1 for every retention value', () => {
    for (let p = 0; p <= 100; p += 0.5) {
      const { background, color } = heatCell(p);
      expect(`${p}: ${contrast(background, color) >= 4.5}`).toBe(`${p}: true`);
    }
    expect(contrast(heatCell(null).background, heatCell(null).color)).toBeGreaterThanOrEqual(4.5);
  });

  it('darkens with retention and clamps odd values', () => {
    expect(heatCell(0).background).toBe('hsl(212 80% 96%)');
    expect(heatCell(100).background).toBe('hsl(212 80% 30%)');
    expect(heatCell(150)).toEqual(heatCell(100));
    expect(heatCell(-3)).toEqual(heatCell(0));
  });
});

describe('score trend', () => {
  it('takes the newest points oldest first and the change across them', () => {
    expect(scoreTrend([80, 70, 60])).toEqual({ scores: [60, 70, 80], delta: 20 });
    expect(scoreTrend([50])).toEqual({ scores: [50], delta: null });
    expect(scoreTrend([])).toEqual({ scores: [], delta: null });
    expect(scoreTrend([1, 2, 3, 4, 5], 2)).toEqual({ scores: [2, 1], delta: -1 });
  });

  it('draws scores 0-100 top to bottom in the box, clamping others', () => {
    expect(sparkline([0, 100], 80, 20)).toBe('0.0,20.0 80.0,0.0');
    expect(sparkline([50], 80, 20)).toBe('0,10.0 80,10.0');
    expect(sparkline([-10, 120, 50], 80, 20)).toBe('0.0,20.0 40.0,0.0 80.0,10.0');
    expect(sparkline([], 80, 20)).toBe('');
  });
});

describe('parseRoute', () => {
  it('decodes segments and reads the query of the fragment', () => {
    const r = parseRoute('#/customers/c%201%2Fx?tab=2');
    expect(r.parts).toEqual(['customers', 'c 1/x']);
    expect(r.query.get('tab')).toBe('2');
    expect(parseRoute('').parts).toEqual([]);
    expect(parseRoute('#/portal?token=tpt_a-b_c').query.get('token')).toBe('tpt_a-b_c');
    expect(parseRoute('#/customers/%E0%A4%A').parts).toEqual(['customers', '%E0%A4%A']);
  });
});
