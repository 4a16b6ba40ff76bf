import { amountMeterOf, pricedByUnits } from './dynamic-charge';

describe('dynamic charge helpers', () => {
  it('names the amount meter of a dynamic charge only', () => {
    expect(amountMeterOf({ model: 'dynamic', meter: 'tokens', properties: { amount_meter: 'llm-cost' } })).toBe('llm-cost');
    expect(amountMeterOf({ model: 'standard', meter: 'tokens', properties: { amount: '1', amount_meter: 'llm-cost' } })).toBeUndefined();
    expect(amountMeterOf({ model: 'dynamic', meter: 'tokens', properties: { amount_meter: 7 } })).toBeUndefined();
    expect(amountMeterOf({ model: 'dynamic', meter: 'tokens', properties: {} })).toBeUndefined();
  });

  it('re-prices late units of every model but dynamic, whose price follows its amount meter', () => {
    for (const model of ['standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage']) expect(pricedByUnits({ model })).toBe(true);
    expect(pricedByUnits({ model: 'dynamic' })).toBe(false);
    // A prorated charge's price follows the days each unit was held, not its units alone.
    expect(pricedByUnits({ model: 'standard', prorated: true })).toBe(false);
    expect(pricedByUnits({ model: 'volume', prorated: false })).toBe(true);
  });
});
