import { amountOf, price } from './charge-test-support';

describe('standard charge', () => {
  it('prices units × amount with one breakdown line', () => {
    expect(price('standard', { amount: '0.5' }, '12')).toEqual({
      amount: '6',
      units: '12',
      breakdown: [{ description: '12 units × 0.5', units: '12', amount: '6', perUnitAmount: '0.5' }],
    });
  });

  it('costs nothing for zero units', () => {
    expect(amountOf('standard', { amount: '3' }, '0')).toBe('0');
  });

  it('is exact for tiny unit prices: 0.00012 × 1,000,001 = 120.00012', () => {
    expect(amountOf('standard', { amount: '0.00012' }, '1000001')).toBe('120.00012');
  });

  it('keeps fractional units and does not round the amount', () => {
    // 100.5 × 0.0333 = 3.34665
    expect(amountOf('standard', { amount: '0.0333' }, '100.5')).toBe('3.34665');
  });

  it('accepts amounts as numbers and in exponent notation', () => {
    // 0.1 × 3 is 0.3 exactly (no binary float on the way)
    expect(amountOf('standard', { amount: 0.1 }, '3')).toBe('0.3');
    expect(amountOf('standard', { amount: '1.5e-3' }, '1000')).toBe('1.5');
  });

  it('accepts a zero amount (a free charge)', () => {
    expect(amountOf('standard', { amount: '0' }, '1000')).toBe('0');
  });

  it('ignores keys Lago sends alongside, such as pricing_group_keys', () => {
    expect(amountOf('standard', { amount: '2', pricing_group_keys: ['region'], grouped_by: [] }, '4')).toBe('8');
  });
});
