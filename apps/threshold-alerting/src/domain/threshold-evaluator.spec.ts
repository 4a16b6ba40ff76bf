import { evaluateThresholds, parseThresholdId, type FiredThreshold, type ThresholdPolicy } from './threshold-evaluator';

const policy = (over: Partial<ThresholdPolicy> = {}): ThresholdPolicy => ({ included: '100', thresholds: [50, 75, 90, 100], hardLimit: false, ...over });
const none: ReadonlyMap<string, FiredThreshold> = new Map();
const active = (...ids: string[]): Map<string, FiredThreshold> => new Map(ids.map((id) => [id, { generation: 1, active: true }]));
/** The ids and kinds that fire at `usage` (spend unknown). */
const fires = (usage: string, p: ThresholdPolicy, fired: ReadonlyMap<string, FiredThreshold> = none, spend: string | null = null) =>
  evaluateThresholds({ usage, spend }, p, fired).fire.map((t) => [t.id, t.kind]);
const recovers = (usage: string, p: ThresholdPolicy, fired: ReadonlyMap<string, FiredThreshold>, spend: string | null = null) =>
  evaluateThresholds({ usage, spend }, p, fired).recover.map((t) => [t.id, t.kind, t.silent]);

describe('evaluateThresholds: percent of included', () => {
  it('fires nothing below the first threshold', () => {
    expect(fires('0', policy())).toEqual([]);
    expect(fires('49.999', policy())).toEqual([]);
  });
  it('fires a threshold reached exactly, and every reached one in ascending order', () => {
    expect(fires('50', policy({ thresholds: [50] }))).toEqual([['percent:50', 'soft']]);
    expect(fires('89.99', policy())).toEqual([['percent:50', 'soft'], ['percent:75', 'soft']]);
    expect(fires('90', policy())).toEqual([['percent:50', 'soft'], ['percent:75', 'soft'], ['percent:90', 'soft']]);
  });
  it('skips active thresholds', () => {
    expect(fires('95', policy(), active('percent:50', 'percent:75'))).toEqual([['percent:90', 'soft']]);
    expect(fires('95', policy(), active('percent:50', 'percent:75', 'percent:90'))).toEqual([]);
  });
  it('makes 100 % and above the overage notice, or the hard limit when the entitlement has one; soft stays soft', () => {
    expect(fires('100', policy(), active('percent:50', 'percent:75', 'percent:90'))).toEqual([['percent:100', 'overage']]);
    expect(fires('99.99', policy(), active('percent:50', 'percent:75', 'percent:90'))).toEqual([]);
    expect(fires('100', policy({ hardLimit: true }), active('percent:50', 'percent:75', 'percent:90'))).toEqual([['percent:100', 'hard_limit']]);
    expect(fires('80', policy({ hardLimit: true }))).toEqual([['percent:50', 'soft'], ['percent:75', 'soft']]);
    expect(fires('119', policy({ thresholds: [100, 120] }))).toEqual([['percent:100', 'overage']]);
    expect(fires('120', policy({ thresholds: [100, 120], hardLimit: true }))).toEqual([['percent:100', 'hard_limit'], ['percent:120', 'hard_limit']]);
  });
  it('keeps fractional percentages exact: 33.3 % of 1000 is reached at 333, not at 330 (33 %)', () => {
    const p = policy({ included: '1000', thresholds: [33.3] });
    expect(fires('332.99', p)).toEqual([]);
    expect(fires('330', p)).toEqual([]);
    expect(fires('333', p)).toEqual([['percent:33.3', 'soft']]);
  });
  it('does not fire 0.4 % at once (it was rounded to 0 %): 0.4 % of 1000 is 4', () => {
    const p = policy({ included: '1000', thresholds: ['0.4'] });
    expect(fires('0', p)).toEqual([]);
    expect(fires('3.9999', p)).toEqual([]);
    expect(fires('4', p)).toEqual([['percent:0.4', 'soft']]);
  });
  it('takes a percentage as a number or a decimal string, as the same threshold', () => {
    expect(fires('1000', policy({ thresholds: [33.3, '33.3', '33.30', 100] }))).toEqual([['percent:33.3', 'soft'], ['percent:100', 'overage']]);
    expect(fires('1000', policy({ thresholds: [33.3] }), active('percent:33.3'))).toEqual([]);
  });
  it('compares with more digits than a double or decimal.js default precision (20) holds', () => {
    // 99.999999999999999999999 % of 1000000000000000.00000001: the trigger has 40 significant digits.
    const p = policy({ included: '1000000000000000.00000001', thresholds: ['99.999999999999999999999'] });
    expect(fires('999999999999999.99999999', p)).toEqual([]);
    expect(fires('999999999999999.99999999999999999999', p)).toEqual([]);
    expect(fires('1000000000000000', p)).toEqual([['percent:99.999999999999999999999', 'soft']]);
    // 90 % of 1.1 is 0.99 (1.1 * 90 / 100 is 0.9900000000000001 in binary floating point).
    expect(fires('0.99', policy({ included: '1.1', thresholds: [90] }))).toEqual([['percent:90', 'soft']]);
    expect(fires('0.9899999', policy({ included: '1.1', thresholds: [90] }))).toEqual([]);
  });
  it('sorts numerically and deduplicates', () => {
    expect(fires('1000', policy({ thresholds: [100, 9, 10, 9] })).map((f) => f[0])).toEqual(['percent:9', 'percent:10', 'percent:100']);
  });
  it('with nothing included, puts any usage over every threshold, and no usage over none', () => {
    expect(fires('0.001', policy({ included: '0' }))).toEqual([['percent:50', 'soft'], ['percent:75', 'soft'], ['percent:90', 'soft'], ['percent:100', 'overage']]);
    expect(fires('0', policy({ included: '0' }))).toEqual([]);
    expect(fires('0', policy({ included: '0.00' }))).toEqual([]);
  });
  it('ignores non-positive percentages (the contract refuses them; a stored one must not fire at usage 0)', () => {
    expect(fires('0', policy({ thresholds: [0, -5] }))).toEqual([]);
  });
  it('starts over in a new period: the fired set is per period, so an empty one fires again', () => {
    const period1 = active('percent:50', 'percent:75', 'percent:90', 'percent:100');
    expect(fires('100', policy(), period1)).toEqual([]);
    expect(fires('60', policy(), none)).toEqual([['percent:50', 'soft']]);
  });
});

describe('evaluateThresholds: absolute, spend and step', () => {
  it('fires absolute amounts at their boundary', () => {
    const p = policy({ thresholds: [], absolute: ['5000', '1000.5'] });
    expect(fires('1000.4999', p)).toEqual([]);
    expect(fires('1000.5', p)).toEqual([['absolute:1000.5', 'absolute']]);
    expect(fires('5000', p, active('absolute:1000.5'))).toEqual([['absolute:5000', 'absolute']]);
  });
  it('fires spend thresholds on the money so far, and waits while spend is unknown', () => {
    const p = policy({ thresholds: [], spend: ['100', '49.99'] });
    expect(fires('1000000', p, none, null)).toEqual([]);
    expect(fires('0', p, none, '49.98')).toEqual([]);
    expect(fires('0', p, none, '49.99')).toEqual([['spend:49.99', 'spend']]);
    expect(fires('0', p, none, '100.01')).toEqual([['spend:49.99', 'spend'], ['spend:100', 'spend']]);
  });
  it('fires a step every N units after the last fixed unit threshold, only the highest reached, once', () => {
    // Last fixed: 100 % of 1000 = 1000 (the absolute 800 is lower): steps at 1250, 1500, ...
    const p = policy({ included: '1000', thresholds: [100], absolute: ['800'], stepUnits: '250' });
    const fixed = active('percent:100', 'absolute:800');
    expect(fires('1249.99', p, fixed)).toEqual([]);
    expect(fires('1250', p, fixed)).toEqual([['step-units:1250', 'step']]);
    // Jumping over several steps fires the highest one only.
    expect(fires('2100', p, fixed)).toEqual([['step-units:2000', 'step']]);
    expect(fires('2100', p, new Map([...fixed, ...active('step-units:2000')]))).toEqual([]);
    expect(fires('2250', p, new Map([...fixed, ...active('step-units:2000')]))).toEqual([['step-units:2250', 'step']]);
  });
  it('steps from 0 without fixed thresholds, and in money after the last spend threshold', () => {
    expect(fires('30', policy({ thresholds: [], stepUnits: '10' }))).toEqual([['step-units:30', 'step']]);
    const p = policy({ thresholds: [], spend: ['100'], stepSpend: '50' });
    expect(fires('0', p, active('spend:100'), '149.99')).toEqual([]);
    expect(fires('0', p, active('spend:100'), '150')).toEqual([['step-spend:150', 'step']]);
    expect(fires('0', p, active('spend:100'), null)).toEqual([]);
  });
  it('takes a hostile tiny step without iterating over every step', () => {
    const started = Date.now();
    expect(fires('1000000000000000', policy({ thresholds: [], stepUnits: '0.000000000000000001' }))).toEqual([['step-units:1000000000000000', 'step']]);
    expect(Date.now() - started).toBeLessThan(100);
  });
  it('fires several kinds crossed at once', () => {
    const p = policy({ included: '100', thresholds: [50, 100], absolute: ['120'], spend: ['10'], stepUnits: '50' });
    expect(fires('170', p, none, '12')).toEqual([
      ['percent:50', 'soft'],
      ['percent:100', 'overage'],
      ['absolute:120', 'absolute'],
      ['spend:10', 'spend'],
      ['step-units:170', 'step'],
    ]);
  });
});

describe('evaluateThresholds: recovery of meters that can fall', () => {
  it('re-arms every active threshold the usage fell below, with a recovered alert (steps silently)', () => {
    const p = policy({ included: '10', thresholds: [50, 100], absolute: ['8'], stepUnits: '2' });
    const fired = active('percent:50', 'percent:100', 'absolute:8', 'step-units:12');
    expect(recovers('12', p, fired)).toEqual([]);
    expect(recovers('9', p, fired)).toEqual([['percent:100', 'overage', false], ['step-units:12', 'step', true]]);
    expect(recovers('0', p, fired)).toEqual([
      ['percent:50', 'soft', false],
      ['percent:100', 'overage', false],
      ['absolute:8', 'absolute', false],
      ['step-units:12', 'step', true],
    ]);
  });
  it('recovers exactly below the boundary, not at it', () => {
    const p = policy({ included: '10', thresholds: [100], hardLimit: true });
    expect(recovers('10', p, active('percent:100'))).toEqual([]);
    expect(recovers('9.999', p, active('percent:100'))).toEqual([['percent:100', 'hard_limit', false]]);
  });
  it('fires a recovered threshold again when reached again, and leaves recovered ones alone', () => {
    const p = policy({ included: '10', thresholds: [50] });
    const rearmed = new Map([['percent:50', { generation: 1, active: false }]]);
    expect(recovers('0', p, rearmed)).toEqual([]);
    expect(fires('4', p, rearmed)).toEqual([]);
    expect(fires('5', p, rearmed)).toEqual([['percent:50', 'soft']]);
  });
  it('with nothing included, recovers percentages when usage falls to 0', () => {
    expect(recovers('0.001', policy({ included: '0', thresholds: [50] }), active('percent:50'))).toEqual([]);
    expect(recovers('0', policy({ included: '0', thresholds: [50] }), active('percent:50'))).toEqual([['percent:50', 'soft', false]]);
  });
  it('does not recover spend thresholds while spend is unknown, and does on a known lower spend', () => {
    const p = policy({ thresholds: [], spend: ['10'] });
    expect(recovers('0', p, active('spend:10'), null)).toEqual([]);
    expect(recovers('0', p, active('spend:10'), '9.99')).toEqual([['spend:10', 'spend', false]]);
  });
  it('ignores fired ids it does not know (written by a newer version)', () => {
    expect(recovers('0', policy(), active('forecast:period', 'percent:abc'))).toEqual([]);
  });
});

describe('parseThresholdId', () => {
  it('parses known families, nothing else', () => {
    expect(parseThresholdId('percent:33.3')?.value.toFixed()).toBe('33.3');
    expect(parseThresholdId('step-spend:150')?.family).toBe('step-spend');
    expect(parseThresholdId('percent:1e5')).toBeNull();
    expect(parseThresholdId('percent:')).toBeNull();
  });
});
