import { amountOf, price } from './charge-test-support';

// 5 per started package of 100 units, after 50 free units.
const WITH_FREE = { amount: '5', package_size: 100, free_units: 50 };
const NO_FREE = { amount: '5', package_size: 100, free_units: 0 };

describe('package charge', () => {
  it('costs nothing for zero units', () => {
    expect(price('package', WITH_FREE, '0')).toEqual({
      amount: '0',
      units: '0',
      breakdown: [
        { description: 'free units', units: '0', amount: '0' },
        { description: '0 package(s) of 100 units at 5 per package', units: '0', amount: '0', perUnitAmount: '5' },
      ],
    });
  });

  it('uses the free units first', () => {
    expect(amountOf('package', WITH_FREE, '50')).toBe('0');
    expect(amountOf('package', WITH_FREE, '50.5')).toBe('5'); // 0.5 paid units start a package
    expect(amountOf('package', WITH_FREE, '150')).toBe('5'); // 100 paid units: exactly 1 package
    expect(price('package', WITH_FREE, '151')).toEqual({
      amount: '10', // 101 paid units: 2 packages
      units: '151',
      breakdown: [
        { description: 'free units', units: '50', amount: '0' },
        { description: '2 package(s) of 100 units at 5 per package', units: '101', amount: '10', perUnitAmount: '5' },
      ],
    });
  });

  it('rounds partial packages up, fractional units included', () => {
    expect(amountOf('package', NO_FREE, '1')).toBe('5');
    expect(amountOf('package', NO_FREE, '100')).toBe('5');
    expect(amountOf('package', NO_FREE, '100.5')).toBe('10');
    expect(amountOf('package', NO_FREE, '200')).toBe('10');
    expect(amountOf('package', NO_FREE, '201')).toBe('15');
  });

  it('has no free-units line without free units', () => {
    expect(price('package', NO_FREE, '250').breakdown).toEqual([
      { description: '3 package(s) of 100 units at 5 per package', units: '250', amount: '15', perUnitAmount: '5' },
    ]);
  });

  it('is exact for tiny package prices: 0.00012 × 1,000,001 = 120.00012', () => {
    expect(amountOf('package', { amount: '0.00012', package_size: 1, free_units: 0 }, '1000001')).toBe('120.00012');
  });

  it('accepts package_size and free_units as whole-number strings', () => {
    expect(amountOf('package', { amount: '2', package_size: '10', free_units: '5' }, '26')).toBe('6'); // 21 paid → 3 packages
  });
});
