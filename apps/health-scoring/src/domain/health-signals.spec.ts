import { scoreHealth, type HealthInputValues } from './health-scorer';
import { churnRiskSignal, enteredExcellent, isSharpDrop, repeatedOverage, topReasons, upgradeRecommendedSignal } from './health-signals';
import { DEFAULT_WEIGHTS } from './health-weights';

const NOW = new Date('2026-06-30T00:00:00Z');
const score = (over: Partial<HealthInputValues> = {}) => scoreHealth({ usage: 100, billing: 100, support: 100, nps: 100, activation: 0, thresholds: 0, ...over }, DEFAULT_WEIGHTS);
const ctx = (previous: ReturnType<typeof score> | null, next: ReturnType<typeof score>, highestRecentScore: number | null = null, lastDropSignalAt: Date | null = null) => ({
  previous, next, weights: DEFAULT_WEIGHTS, highestRecentScore, lastDropSignalAt, now: NOW,
});

describe('churnRiskSignal', () => {
  it('signals entering yellow with automated guidance and the inputs that lost most', () => {
    const before = score(); // 100
    const after = score({ billing: 0, support: 60 }); // 40 + 0 + 12 + 10 = 62
    expect(churnRiskSignal(ctx(before, after))).toEqual({
      trigger: 'entered_band',
      recommendedAction: 'automated_guidance',
      reasons: ['billing status 100 -> 0 (-30 points)', 'support tickets 100 -> 60 (-8 points)'],
    });
  });

  it('signals entering red (from yellow too) with a CSM review now', () => {
    const yellow = score({ billing: 0 }); // 70
    const red = score({ billing: 0, usage: 50 }); // 50
    expect(red.band).toBe('yellow');
    const deepRed = score({ billing: 0, usage: 0, nps: 0 }); // 20
    expect(churnRiskSignal(ctx(yellow, deepRed))).toMatchObject({ trigger: 'entered_band', recommendedAction: 'csm_review_now', reasons: ['product usage 100 -> 0 (-40 points)', 'NPS 100 -> 0 (-10 points)'] });
  });

  it('signals a first score in red against full marks', () => {
    const first = score({ usage: 10, billing: 0, nps: 50 }); // 4 + 0 + 20 + 5 = 29
    expect(churnRiskSignal(ctx(null, first))).toEqual({
      trigger: 'entered_band',
      recommendedAction: 'csm_review_now',
      reasons: ['product usage at 10 of 100 (-36 points)', 'billing status at 0 of 100 (-30 points)', 'NPS at 50 of 100 (-5 points)'],
    });
  });

  it('says nothing for a first score in green, moves up, or staying in a band without a sharp drop', () => {
    expect(churnRiskSignal(ctx(null, score()))).toBeNull();
    expect(churnRiskSignal(ctx(score({ billing: 0 }), score()))).toBeNull();
    expect(churnRiskSignal(ctx(score({ billing: 0 }), score({ billing: 0, usage: 70 }), 70))).toBeNull(); // 70 -> 58 in yellow: drop of 12
  });

  it('signals a sharp drop of 15 points within a week inside a band, at most once a week', () => {
    const before = score(); // 100
    const after = score({ usage: 62.5 }); // 85: green still, 15 below the week's high
    expect(churnRiskSignal(ctx(before, after, 100))).toMatchObject({ trigger: 'sharp_drop', recommendedAction: 'automated_guidance' });
    expect(churnRiskSignal(ctx(before, after, 99))).toBeNull(); // 14 points
    const sixDays = new Date(NOW.getTime() - 6 * 86_400_000);
    const sevenDays = new Date(NOW.getTime() - 7 * 86_400_000);
    expect(isSharpDrop({ next: after, highestRecentScore: 100, lastDropSignalAt: sixDays, now: NOW })).toBe(false);
    expect(isSharpDrop({ next: after, highestRecentScore: 100, lastDropSignalAt: sevenDays, now: NOW })).toBe(true);
  });
});

describe('topReasons', () => {
  it('keeps three, biggest loss first', () => {
    const after = score({ usage: 90, billing: 50, support: 50, nps: 0 }); // losses 4, 15, 10, 10
    expect(topReasons(score(), after, DEFAULT_WEIGHTS)).toEqual([
      'billing status 100 -> 50 (-15 points)',
      'support tickets 100 -> 50 (-10 points)',
      'NPS 100 -> 0 (-10 points)',
    ]);
  });
});

describe('expansion signals', () => {
  it('flags entering excellent once', () => {
    expect(enteredExcellent(score(), score({ usage: 110 }))).toBe(true);
    expect(enteredExcellent(null, score({ usage: 110 }))).toBe(true);
    expect(enteredExcellent(score({ usage: 120 }), score({ usage: 110 }))).toBe(false);
    expect(enteredExcellent(score({ usage: 120 }), score())).toBe(false);
  });

  it('finds repeated overage: two periods with overage started within 95 days', () => {
    const d = (s: string) => new Date(s);
    expect(repeatedOverage([d('2026-06-01T00:00:00Z')], NOW)).toBeNull();
    expect(repeatedOverage([d('2026-06-01T00:00:00Z'), d('2026-06-01T00:00:00Z')], NOW)).toBeNull(); // one period, two meters
    expect(repeatedOverage([d('2026-06-01T00:00:00Z'), d('2026-04-01T00:00:00Z')], NOW)).toEqual(d('2026-06-01T00:00:00Z'));
    // 2026-03-27 is exactly 95 days before NOW (kept); 2026-03-26 is older (dropped).
    expect(repeatedOverage([d('2026-06-01T00:00:00Z'), d('2026-03-27T00:00:00Z')], NOW)).toEqual(d('2026-06-01T00:00:00Z'));
    expect(repeatedOverage([d('2026-06-01T00:00:00Z'), d('2026-03-26T00:00:00Z')], NOW)).toBeNull();
  });
});

describe('upgradeRecommendedSignal', () => {
  const recommendation = { currentPlan: 'starter', plan: 'pro', currency: 'EUR', currentCost: '210', recommendedCost: '49', saving: '161' };

  it('raises one signal per period and recommended plan, whatever meter or kind recommended it', () => {
    const forecast = upgradeRecommendedSignal({ kind: 'forecast', meter: 'tokens', periodStart: '2026-06-01T00:00:00Z', recommendation })!;
    const overage = upgradeRecommendedSignal({ kind: 'overage', meter: 'api', periodStart: '2026-06-01T00:00:00.000Z', recommendation })!;
    expect(forecast.signalKey).toBe('2026-06-01T00:00:00.000Z:pro');
    // The same instant spelled differently is the same period: one signal.
    expect(overage.signalKey).toBe(forecast.signalKey);
    expect(forecast).toMatchObject({ periodStart: '2026-06-01T00:00:00.000Z', recommendedPlan: 'pro', saving: '161', currency: 'EUR' });
    expect(forecast.reasons[0]).toBe('projected period costs 210 EUR on starter and 49 EUR on pro (saves 161)');
  });

  it('tells another plan or another period apart', () => {
    const a = upgradeRecommendedSignal({ kind: 'forecast', meter: 'tokens', periodStart: '2026-06-01T00:00:00Z', recommendation })!;
    const b = upgradeRecommendedSignal({ kind: 'forecast', meter: 'tokens', periodStart: '2026-06-01T00:00:00Z', recommendation: { ...recommendation, plan: 'business' } })!;
    const c = upgradeRecommendedSignal({ kind: 'forecast', meter: 'tokens', periodStart: '2026-07-01T00:00:00+02:00', recommendation })!;
    expect(new Set([a.signalKey, b.signalKey, c.signalKey]).size).toBe(3);
    expect(c.signalKey).toBe('2026-06-30T22:00:00.000Z:pro');
  });

  it('raises nothing for an alert without a recommendation or with an unreadable period', () => {
    expect(upgradeRecommendedSignal({ kind: 'overage', meter: 'tokens', periodStart: '2026-06-01T00:00:00Z' })).toBeNull();
    expect(upgradeRecommendedSignal({ kind: 'overage', meter: 'tokens', periodStart: 'June', recommendation })).toBeNull();
  });
});
