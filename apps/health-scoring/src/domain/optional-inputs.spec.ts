import { activationInput, thresholdInput } from './optional-inputs';

describe('activationInput', () => {
  it('is the share of entitled meters used at least once', () => {
    expect(activationInput(['api', 'gb', 'seats'], ['api'])).toBe(33.33);
    expect(activationInput(['api', 'gb'], ['api', 'gb', 'other'])).toBe(100);
    expect(activationInput(['api', 'api'], [])).toBe(0);
  });

  it('without entitlements, any use is full activation', () => {
    expect(activationInput([], ['api'])).toBe(100);
    expect(activationInput([], [])).toBe(0);
  });
});

describe('thresholdInput', () => {
  const NOW = new Date('2026-06-15T00:00:00Z');
  const june = { periodStart: new Date('2026-06-01T00:00:00Z'), periodEnd: new Date('2026-07-01T00:00:00Z') };
  const may = { periodStart: new Date('2026-05-01T00:00:00Z'), periodEnd: new Date('2026-06-01T00:00:00Z') };

  it('takes the highest percent of the running period, capped at 100', () => {
    expect(thresholdInput([{ ...june, maxPercent: 50 }, { ...june, maxPercent: 75 }], NOW)).toBe(75);
    expect(thresholdInput([{ ...june, maxPercent: 120 }], NOW)).toBe(100);
  });

  it('resets with the period: last period\'s 100 % counts for nothing now', () => {
    expect(thresholdInput([{ ...may, maxPercent: 100 }], NOW)).toBe(0);
    expect(thresholdInput([{ ...may, maxPercent: 100 }], new Date('2026-05-31T23:59:59Z'))).toBe(100);
  });
});
