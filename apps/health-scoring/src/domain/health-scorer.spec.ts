import { bandFor, scoreHealth, type HealthInputValues } from './health-scorer';
import { DEFAULT_WEIGHTS } from './health-weights';

const values = (over: Partial<HealthInputValues> = {}): HealthInputValues => ({ usage: 100, billing: 100, support: 100, nps: 100, activation: 0, thresholds: 0, ...over });

describe('scoreHealth', () => {
  it('weights usage 40, billing 30, support 20, NPS 10 by default and reports each contribution', () => {
    // 80*0.4 + 100*0.3 + 80*0.2 + 90*0.1 = 32 + 30 + 16 + 9 = 87
    expect(scoreHealth(values({ usage: 80, support: 80, nps: 90 }), DEFAULT_WEIGHTS)).toEqual({
      score: 87,
      band: 'green',
      inputs: { usage: 80, billing: 100, support: 80, nps: 90 },
      contributions: { usage: 32, billing: 30, support: 16, nps: 9 },
    });
  });

  it('lets the usage bonus lift a power user above 100', () => {
    // 130*0.4 + 30 + 20 + 10 = 112
    expect(scoreHealth(values({ usage: 130 }), DEFAULT_WEIGHTS)).toMatchObject({ score: 112, band: 'excellent' });
  });

  it('weighs only the inputs a tenant chose', () => {
    const weights = { usage: 30, billing: 30, support: 20, nps: 10, activation: 10 };
    // 50*0.3 + 100*0.3 + 100*0.2 + 100*0.1 + 20*0.1 = 15 + 30 + 20 + 10 + 2 = 77; thresholds ignored
    expect(scoreHealth(values({ usage: 50, activation: 20, thresholds: 99 }), weights)).toEqual({
      score: 77,
      band: 'green',
      inputs: { usage: 50, billing: 100, support: 100, nps: 100, activation: 20 },
      contributions: { usage: 15, billing: 30, support: 20, nps: 10, activation: 2 },
    });
  });

  describe('rounds half up to a whole score, then bands it', () => {
    // Low bands: usage alone (billing, support, NPS 0) gives usage*0.4; high bands: 60 from the others plus usage*0.4.
    it.each([
      [100, 0, 40, 'red'], // 40 exactly
      [101.24, 0, 40, 'red'], // 40.496
      [101.25, 0, 41, 'yellow'], // 40.5
      [102.5, 0, 41, 'yellow'], // 41
      [25, 100, 70, 'yellow'], // 10 + 60
      [26.24, 100, 70, 'yellow'], // 70.496
      [26.25, 100, 71, 'green'], // 70.5
      [100, 100, 100, 'green'], // 100
      [101.24, 100, 100, 'green'], // 100.496
      [101.25, 100, 101, 'excellent'], // 100.5
    ])('usage %p with the others at %p scores %p: %s', (usage, others, score, band) => {
      expect(scoreHealth(values({ usage, billing: others, support: others, nps: others }), DEFAULT_WEIGHTS)).toMatchObject({ score, band });
    });
  });

  it('is not moved across a band by binary noise (0.1 + 0.2 style sums)', () => {
    // 40.5 reached through fractions that are inexact in binary: 0.3*35 + 0.2*... summing to 40.5.
    const weights = { usage: 10, billing: 20, support: 30, nps: 40 };
    // 1*0.1 + 1.5*0.2 + 0.7*0.3 + 99.725*0.4 = 0.1 + 0.3 + 0.21 + 39.89 = 40.5
    expect(scoreHealth(values({ usage: 1, billing: 1.5, support: 0.7, nps: 99.725 }), weights)).toMatchObject({ score: 41, band: 'yellow' });
  });
});

describe('bandFor', () => {
  it.each([
    [0, 'red'], [40, 'red'], [40.4, 'red'], [40.5, 'yellow'], [41, 'yellow'], [70, 'yellow'], [70.5, 'green'], [71, 'green'],
    [100, 'green'], [100.49, 'green'], [100.5, 'excellent'], [101, 'excellent'], [150, 'excellent'],
  ])('puts %p in %s', (score, band) => {
    expect(bandFor(score as number)).toBe(band);
  });
});

describe('scoreHealth with values out of range', () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, -1])('refuses a weighted input of %p instead of scoring it', (usage) => {
    expect(() => scoreHealth(values({ usage }), DEFAULT_WEIGHTS)).toThrow(`health input usage is ${usage}: not a finite value of at least 0`);
  });

  it('ignores an unweighted input whatever its value', () => {
    expect(scoreHealth(values({ thresholds: Number.NaN }), DEFAULT_WEIGHTS).score).toBe(100);
  });
});
