import { alertKindLabel, alertThreshold, alertTone, shortTime, valuePreview } from './feed-format';
import type { AlertItem } from './types';

const alert = (over: Partial<AlertItem>): AlertItem => ({
  eventId: 'e', occurredAt: '2026-03-01T09:03:00.000Z', customer: 'c', meter: 'm', periodStart: '', periodEnd: '', kind: 'soft', usage: '1', included: '2', ...over,
});

describe('alertThreshold', () => {
  it('says what was crossed in its unit', () => {
    expect(alertThreshold(alert({ threshold: '75', thresholdUnit: 'percent' }))).toBe('75 % of included');
    expect(alertThreshold(alert({ threshold: '33.3', thresholdUnit: 'percent' }))).toBe('33.3 % of included');
    expect(alertThreshold(alert({ kind: 'absolute', threshold: '5000', thresholdUnit: 'units' }))).toBe('5,000 units');
    expect(alertThreshold(alert({ kind: 'spend', threshold: '100', thresholdUnit: 'money', currency: 'EUR' }))).toBe('EUR 100 spend');
    expect(alertThreshold(alert({ kind: 'spend', threshold: '100', thresholdUnit: 'money' }))).toBe('100 spend');
    expect(alertThreshold(alert({ kind: 'forecast', threshold: '100', thresholdUnit: 'percent' }))).toBe('projected to exceed included');
  });

  it('falls back to the percent of older alerts, and to a dash without either', () => {
    expect(alertThreshold(alert({ thresholdPercent: 90 }))).toBe('90 % of included');
    expect(alertThreshold(alert({}))).toBe('—');
  });
});

describe('alert labels and tones', () => {
  it('names every kind and marks overage and hard limits red, recoveries calm', () => {
    const kinds: AlertItem['kind'][] = ['soft', 'overage', 'hard_limit', 'absolute', 'spend', 'step', 'recovered', 'forecast'];
    expect(kinds.map(alertKindLabel)).toEqual(['Threshold', 'Overage', 'Hard limit', 'Absolute', 'Spend', 'Step', 'Recovered', 'Forecast']);
    expect(kinds.map(alertTone)).toEqual(['soft', 'over', 'over', 'soft', 'soft', 'soft', 'ok', 'soft']);
  });
});

describe('shortTime and valuePreview', () => {
  it('shows minutes in UTC', () => {
    expect(shortTime('2026-03-01T09:03:59.123456Z')).toBe('2026-03-01 09:03 UTC');
  });
  it('cuts long text, describes binary, missing and empty values', () => {
    expect(valuePreview('x'.repeat(200), null, 200, 10)).toBe(`${'x'.repeat(9)}…`);
    expect(valuePreview('{"a":1}', null, 7)).toBe('{"a":1}');
    expect(valuePreview(null, 'AAE=', 2)).toBe('(binary, 2 bytes)');
    expect(valuePreview(null, null, 0)).toBe('(no value)');
    expect(valuePreview(null, null, 5)).toBe('(5 bytes, not kept)');
  });
});
