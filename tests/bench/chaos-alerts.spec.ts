import { alertsOfRow, compareAlerts, expectedFiring, spendOf, type AlertId, type ChaosCharge } from '../../bench/chaos-alerts';

// The chaos run's expectations (bench/chaos-alerts.ts): a wrong expectation would fail a correct service or
// pass a wrong one, so its boundaries are tested like the service's evaluator.
const CALLS: ChaosCharge = { included: '40', price: '0.01', thresholds: [50, 75, 87.5, 100], hardLimit: false, absolute: ['25', '80'], spend: ['0.5', '0.75'], stepUnits: '15' };

describe('expectedFiring', () => {
  it('fires nothing below the first threshold', () => {
    expect(expectedFiring('19', CALLS)).toEqual({ fixed: new Map(), steps: { base: '80', every: '15', top: null } });
  });

  it('reaches each threshold exactly at its value, a fractional percentage unrounded', () => {
    expect([...expectedFiring('20', CALLS).fixed]).toEqual([['percent:50', 'soft']]);
    expect(expectedFiring('34.99', CALLS).fixed.has('percent:87.5')).toBe(false);
    expect(expectedFiring('35', CALLS).fixed.get('percent:87.5')).toBe('soft');
    expect(expectedFiring('25', CALLS).fixed.get('absolute:25')).toBe('absolute');
  });

  it('names 100 % overage, or hard_limit with a hard limit', () => {
    expect(expectedFiring('40', CALLS).fixed.get('percent:100')).toBe('overage');
    expect(expectedFiring('40', { ...CALLS, hardLimit: true }).fixed.get('percent:100')).toBe('hard_limit');
  });

  it('prices spend with the included units free, exactly', () => {
    expect(spendOf('40', CALLS)).toBe('0');
    expect(spendOf('89', CALLS)).toBe('0.49');
    expect(expectedFiring('89', CALLS).fixed.has('spend:0.5')).toBe(false);
    expect(expectedFiring('90', CALLS).fixed.get('spend:0.5')).toBe('spend');
    expect(expectedFiring('115', CALLS).fixed.get('spend:0.75')).toBe('spend');
  });

  it('puts the top step on the grid above the last fixed unit threshold', () => {
    expect(expectedFiring('94', CALLS).steps?.top).toBeNull();
    expect(expectedFiring('95', CALLS).steps?.top).toBe('95');
    expect(expectedFiring('139', CALLS).steps?.top).toBe('125');
    // Without absolute amounts the base is the highest percentage's units.
    expect(expectedFiring('55', { ...CALLS, absolute: [] }).steps).toEqual({ base: '40', every: '15', top: '55' });
    expect(expectedFiring('55', { ...CALLS, stepUnits: undefined }).steps).toBeNull();
  });
});

describe('alertsOfRow', () => {
  const row = { customer: 'c1', meter: 'seats', periodStart: '2026-11-28T00:00:00.000Z', threshold: 'percent:80', kind: 'soft' };
  const id = 't:c1:seats:2026-11-28T00:00:00.000Z:percent:80';

  it('stands for every generation fired and each recovery before the latest', () => {
    expect(alertsOfRow('t', { ...row, generation: 1, recovered: false }).map((a) => a.eventId)).toEqual([id]);
    expect(alertsOfRow('t', { ...row, generation: 1, recovered: true }).map((a) => a.eventId)).toEqual([id, `${id}:1:recovered`]);
    expect(alertsOfRow('t', { ...row, generation: 2, recovered: false })).toEqual([
      { eventId: id, kind: 'soft', threshold: '80', generation: 1 },
      { eventId: `${id}:1:recovered`, kind: 'recovered', threshold: '80', generation: 1 },
      { eventId: `${id}:2`, kind: 'soft', threshold: '80', generation: 2 },
    ]);
  });

  it('has no recovered alert for steps and the forecast (they re-arm silently)', () => {
    expect(alertsOfRow('t', { ...row, threshold: 'step-units:95', kind: 'step', generation: 2, recovered: true }).map((a) => a.kind)).toEqual(['step', 'step']);
    expect(alertsOfRow('t', { ...row, threshold: 'forecast:100', kind: 'forecast', generation: 1, recovered: true }).map((a) => a.kind)).toEqual(['forecast']);
  });
});

describe('compareAlerts', () => {
  const soft: AlertId = { eventId: 'a', kind: 'soft', threshold: '50', generation: 1 };
  const step: AlertId = { eventId: 's', kind: 'step', threshold: '95', generation: 1 };
  const byKind = (results: ReturnType<typeof compareAlerts>) => Object.fromEntries(results.map((r) => [r.kind, r]));

  it('passes when expected, stored and published agree, duplicates with the same event id allowed', () => {
    const r = byKind(compareAlerts([soft], [], [soft], [{ eventId: 'a', kind: 'soft', threshold: '50', generation: 1 }, { eventId: 'a', kind: 'soft', threshold: '50.0', generation: 1 }]));
    expect(r.soft.passed).toBe(true);
    expect(r.soft.detail).toContain('1 redelivered copies');
    expect(Object.values(r).every((c) => c.passed)).toBe(true);
  });

  it('fails on a missing, an extra or an unpublished alert', () => {
    expect(byKind(compareAlerts([soft], [], [], [{ eventId: 'a', kind: 'soft' }])).soft.passed).toBe(false);
    expect(byKind(compareAlerts([soft], [], [soft], [])).soft.passed).toBe(false);
    expect(byKind(compareAlerts([], [], [soft], [{ eventId: 'a', kind: 'soft' }])).soft.passed).toBe(false);
    expect(byKind(compareAlerts([], [], [], [{ eventId: 'x', kind: 'forecast' }])).forecast.passed).toBe(false);
  });

  it('fails when copies of one event id differ', () => {
    const r = byKind(compareAlerts([soft], [], [soft], [{ eventId: 'a', kind: 'soft', generation: 1 }, { eventId: 'a', kind: 'soft', generation: 2 }]));
    expect(r.soft.passed).toBe(false);
  });

  it('allows an optional alert only when both stored and published', () => {
    expect(byKind(compareAlerts([], [step], [], [])).step.passed).toBe(true);
    expect(byKind(compareAlerts([], [step], [step], [{ eventId: 's', kind: 'step', threshold: '95', generation: 1 }])).step.passed).toBe(true);
    expect(byKind(compareAlerts([], [step], [step], [])).step.passed).toBe(false);
    expect(byKind(compareAlerts([], [step], [], [{ eventId: 's', kind: 'step' }])).step.passed).toBe(false);
  });
});
