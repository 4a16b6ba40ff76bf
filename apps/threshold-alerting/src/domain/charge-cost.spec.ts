import { chargeCost } from './charge-cost';

describe('chargeCost', () => {
  it('prices only the units above the included ones, exactly', () => {
    const standard = { model: 'standard', properties: { amount: '0.00012' } };
    expect(chargeCost(standard, '1000', '1000')).toEqual({ costSoFar: '0', overageCost: '0' });
    expect(chargeCost(standard, '1000.1', '1000')).toEqual({ costSoFar: '0.000012', overageCost: '0.000012' });
    expect(chargeCost(standard, '3000000', '1000000')).toEqual({ costSoFar: '240', overageCost: '240' });
  });
  it('counts a first range flat amount in the cost but not in the overage', () => {
    const graduated = {
      model: 'graduated',
      properties: { graduated_ranges: [{ from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '10' }, { from_value: 100, to_value: null, per_unit_amount: '0.5', flat_amount: '0' }] },
    };
    expect(chargeCost(graduated, '0', '0')).toEqual({ costSoFar: '10', overageCost: '0' });
    expect(chargeCost(graduated, '150', '0')).toEqual({ costSoFar: '135', overageCost: '125' });
  });
  it('charges a negative quantity nothing', () => {
    expect(chargeCost({ model: 'standard', properties: { amount: '2' } }, '-5', '0')).toEqual({ costSoFar: '0', overageCost: '0' });
  });
  it('answers null without a charge or when the charge cannot be priced from a total', () => {
    expect(chargeCost(undefined, '10', '0')).toBeNull();
    expect(chargeCost({ model: 'no-such-model', properties: {} }, '10', '0')).toBeNull();
    expect(chargeCost({ model: 'standard', properties: { amount: 'lots' } }, '10', '0')).toBeNull();
    expect(chargeCost({ model: 'dynamic', properties: {} }, '10', '0')).toBeNull();
  });
});
