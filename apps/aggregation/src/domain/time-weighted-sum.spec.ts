import { timeWeightedSum, type GaugeReading } from './time-weighted-sum';

const day = { start: new Date('2026-11-02T00:00:00Z'), end: new Date('2026-11-03T00:00:00Z') };
const at = (iso: string, value: string, series = '{}', order?: string): GaugeReading => ({ time: new Date(iso), value, series, order });

describe('timeWeightedSum', () => {
  it('holds one reading to the end of the window (10 GB for 24 h = 240 GB-hours)', () => {
    expect(timeWeightedSum([at('2026-11-02T00:00:00Z', '10')], day).toFixed()).toBe('240');
  });

  it('holds each value until the next reading', () => {
    // 10 GB 00:00-06:00 (60), 20 GB 06:00-18:00 (240), 5 GB 18:00-24:00 (30)
    const r = [at('2026-11-02T06:00:00Z', '20'), at('2026-11-02T00:00:00Z', '10'), at('2026-11-02T18:00:00Z', '5')];
    expect(timeWeightedSum(r, day).toFixed()).toBe('330');
  });

  it('carries the last reading before the window into it and ignores older ones', () => {
    const r = [at('2026-11-01T03:00:00Z', '99'), at('2026-11-01T20:00:00Z', '4'), at('2026-11-02T12:00:00Z', '8')];
    // 4 GB for 12 h + 8 GB for 12 h
    expect(timeWeightedSum(r, day).toFixed()).toBe('144');
  });

  it('holds nothing before a series first reports', () => {
    expect(timeWeightedSum([at('2026-11-02T12:00:00Z', '3')], day).toFixed()).toBe('36');
  });

  it('ignores readings at or after the window end', () => {
    const r = [at('2026-11-02T00:00:00Z', '1'), at('2026-11-03T00:00:00Z', '1000'), at('2026-11-04T00:00:00Z', '1000')];
    expect(timeWeightedSum(r, day).toFixed()).toBe('24');
  });

  it('sums series held side by side instead of letting one end the other', () => {
    const r = [at('2026-11-02T00:00:00Z', '10', '{"region":"eu"}'), at('2026-11-02T12:00:00Z', '5', '{"region":"us"}')];
    // eu 10 x 24 + us 5 x 12
    expect(timeWeightedSum(r, day).toFixed()).toBe('300');
  });

  it('counts fractions of an hour exactly', () => {
    const r = [at('2026-11-02T23:59:00Z', '0.00012')];
    // one minute = 1/60 h
    expect(timeWeightedSum(r, day).toFixed()).toBe('0.000002');
  });

  it('rounds a sum that does not terminate to 18 decimals, half up, once', () => {
    // 1 for one minute = 1/60 h; 2 for one minute + 1 for one minute = 3/60 = 0.05 exactly
    expect(timeWeightedSum([at('2026-11-02T23:59:00Z', '1')], day).toFixed()).toBe('0.016666666666666667');
    const r = [at('2026-11-02T23:58:00Z', '2'), at('2026-11-02T23:59:00Z', '1')];
    expect(timeWeightedSum(r, day).toFixed()).toBe('0.05');
  });

  it('a reading of zero stops the accrual', () => {
    const r = [at('2026-11-02T00:00:00Z', '10'), at('2026-11-02T01:30:00Z', '0')];
    expect(timeWeightedSum(r, day).toFixed()).toBe('15');
  });

  it('breaks ties at the same instant by order: the last one is held', () => {
    const r = [at('2026-11-02T00:00:00Z', '7', '{}', 'b'), at('2026-11-02T00:00:00Z', '1', '{}', 'a')];
    expect(timeWeightedSum(r, day).toFixed()).toBe('168');
  });

  it('is zero with no readings or an empty window', () => {
    expect(timeWeightedSum([], day).toFixed()).toBe('0');
    expect(timeWeightedSum([at('2026-11-02T00:00:00Z', '10')], { start: day.start, end: day.start }).toFixed()).toBe('0');
  });

  it('splits one hold across adjacent windows without loss or overlap', () => {
    const r = [at('2026-11-01T18:00:00Z', '2'), at('2026-11-02T06:00:00Z', '4')];
    const prev = { start: new Date('2026-11-01T00:00:00Z'), end: day.start };
    const whole = { start: prev.start, end: day.end };
    const parts = timeWeightedSum(r, prev).plus(timeWeightedSum(r, day));
    expect(parts.toFixed()).toBe(timeWeightedSum(r, whole).toFixed());
    expect(parts.toFixed()).toBe(String(2 * 12 + 4 * 18));
  });
});
