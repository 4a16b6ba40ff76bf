import { crossedThresholds, type ThresholdPolicy } from './threshold-evaluator';

const policy = (over: Partial<ThresholdPolicy> = {}): ThresholdPolicy => ({
  included: '100',
  thresholds: [50, 75, 90, 100],
  hardLimit: false,
  ...over,
});
const none: ReadonlySet<number> = new Set();

describe('crossedThresholds', () => {
  it('fires nothing below the first threshold', () => {
    expect(crossedThresholds('0', policy(), none)).toEqual([]);
    expect(crossedThresholds('49.999', policy(), none)).toEqual([]);
  });

  it('fires a threshold reached exactly (90 of 100 fires 90 %)', () => {
    expect(crossedThresholds('50', policy({ thresholds: [50] }), none)).toEqual([{ percent: 50, kind: 'soft' }]);
    expect(crossedThresholds('90', policy({ thresholds: [90] }), none)).toEqual([{ percent: 90, kind: 'soft' }]);
  });

  it('fires every reached threshold in ascending order, and none above the usage', () => {
    expect(crossedThresholds('89.99', policy(), none)).toEqual([
      { percent: 50, kind: 'soft' },
      { percent: 75, kind: 'soft' },
    ]);
    expect(crossedThresholds('90', policy(), none)).toEqual([
      { percent: 50, kind: 'soft' },
      { percent: 75, kind: 'soft' },
      { percent: 90, kind: 'soft' },
    ]);
  });

  it('skips thresholds that already fired this period', () => {
    expect(crossedThresholds('95', policy(), new Set([50, 75]))).toEqual([{ percent: 90, kind: 'soft' }]);
    expect(crossedThresholds('95', policy(), new Set([50, 75, 90]))).toEqual([]);
    // A fired threshold that is not in the policy changes nothing.
    expect(crossedThresholds('60', policy(), new Set([60]))).toEqual([{ percent: 50, kind: 'soft' }]);
  });

  it('makes 100 % the overage notice when there is no hard limit', () => {
    expect(crossedThresholds('100', policy(), new Set([50, 75, 90]))).toEqual([{ percent: 100, kind: 'overage' }]);
    expect(crossedThresholds('99.99', policy(), new Set([50, 75, 90]))).toEqual([]);
  });

  it('makes 100 % the hard limit when the entitlement has one', () => {
    expect(crossedThresholds('100', policy({ hardLimit: true }), new Set([50, 75, 90]))).toEqual([
      { percent: 100, kind: 'hard_limit' },
    ]);
  });

  it('treats thresholds above 100 % like 100 % (overage or hard limit), and only once reached', () => {
    const p = policy({ thresholds: [90, 100, 120] });
    expect(crossedThresholds('119', p, none)).toEqual([
      { percent: 90, kind: 'soft' },
      { percent: 100, kind: 'overage' },
    ]);
    expect(crossedThresholds('120', p, new Set([90, 100]))).toEqual([{ percent: 120, kind: 'overage' }]);
    expect(crossedThresholds('500', { ...p, hardLimit: true }, none)).toEqual([
      { percent: 90, kind: 'soft' },
      { percent: 100, kind: 'hard_limit' },
      { percent: 120, kind: 'hard_limit' },
    ]);
  });

  it('keeps soft alerts soft even with a hard limit', () => {
    expect(crossedThresholds('80', policy({ hardLimit: true }), none)).toEqual([
      { percent: 50, kind: 'soft' },
      { percent: 75, kind: 'soft' },
    ]);
  });

  describe('with nothing included', () => {
    it('puts any usage over every threshold', () => {
      expect(crossedThresholds('0.001', policy({ included: '0' }), none)).toEqual([
        { percent: 50, kind: 'soft' },
        { percent: 75, kind: 'soft' },
        { percent: 90, kind: 'soft' },
        { percent: 100, kind: 'overage' },
      ]);
      expect(crossedThresholds('1', policy({ included: '0', hardLimit: true }), new Set([50, 75, 90]))).toEqual([
        { percent: 100, kind: 'hard_limit' },
      ]);
    });

    it('fires nothing without usage', () => {
      expect(crossedThresholds('0', policy({ included: '0' }), none)).toEqual([]);
      expect(crossedThresholds('0.00', policy({ included: '0.00' }), none)).toEqual([]);
    });
  });

  it('deduplicates and sorts the configured thresholds', () => {
    expect(crossedThresholds('100', policy({ thresholds: [100, 50, 90, 50, 75, 100] }), none)).toEqual([
      { percent: 50, kind: 'soft' },
      { percent: 75, kind: 'soft' },
      { percent: 90, kind: 'soft' },
      { percent: 100, kind: 'overage' },
    ]);
  });

  it('sorts thresholds numerically, not as strings', () => {
    expect(crossedThresholds('1000', policy({ thresholds: [100, 9, 10] }), none).map((c) => c.percent)).toEqual([9, 10, 100]);
  });

  it('returns nothing for a policy without thresholds', () => {
    expect(crossedThresholds('1000', policy({ thresholds: [] }), none)).toEqual([]);
  });

  it('compares decimal included quantities exactly', () => {
    // 90 % of 1.1 is 0.99; in binary floating point 1.1 * 90 / 100 is 0.9900000000000001, which 0.99 would miss.
    const p = policy({ included: '1.1', thresholds: [90, 100] });
    expect(crossedThresholds('0.99', p, none)).toEqual([{ percent: 90, kind: 'soft' }]);
    expect(crossedThresholds('0.9899999', p, none)).toEqual([]);
    expect(crossedThresholds('1.1', p, none)).toEqual([
      { percent: 90, kind: 'soft' },
      { percent: 100, kind: 'overage' },
    ]);
    // 75 % of 1234.56 is 925.92.
    const q = policy({ included: '1234.56', thresholds: [75] });
    expect(crossedThresholds('925.92', q, none)).toEqual([{ percent: 75, kind: 'soft' }]);
    expect(crossedThresholds('925.9199', q, none)).toEqual([]);
  });

  it('handles fractional percentages', () => {
    // 33.3 % of 1000 is 333.
    const p = policy({ included: '1000', thresholds: [33.3] });
    expect(crossedThresholds('333', p, none)).toEqual([{ percent: 33.3, kind: 'soft' }]);
    expect(crossedThresholds('332.99', p, none)).toEqual([]);
  });

  it('fires a 0 % threshold as soon as there is an included quantity, even without usage', () => {
    expect(crossedThresholds('0', policy({ thresholds: [0, 50] }), none)).toEqual([{ percent: 0, kind: 'soft' }]);
  });
});
