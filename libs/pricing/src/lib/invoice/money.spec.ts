import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { Dec, toDec, toNonNegativeDec } from './money';

describe('invoice decimal inputs', () => {
  it('parses like plan properties: plain decimals only, no hex, NaN or Infinity', () => {
    expect(toDec('12.50', 'amount').toFixed()).toBe('12.5');
    expect(toDec('1e-7', 'amount').toFixed()).toBe('0.0000001');
    for (const bad of ['0x10', 'NaN', 'Infinity', '', ' 1']) {
      expect(() => toDec(bad, 'usage.units')).toThrow(PricingError);
    }
    expect(() => toDec(new Decimal(NaN), 'amount')).toThrow(new PricingError('amount must be finite, got NaN'));
  });

  it('turns -0 into 0 and refuses negatives, naming the field', () => {
    expect(toNonNegativeDec('-0', 'units').toFixed()).toBe('0');
    expect(toNonNegativeDec('-0', 'units').isNegative()).toBe(false);
    expect(() => toNonNegativeDec('-0.01', 'units')).toThrow(new PricingError('units must not be negative, got "-0.01"'));
  });

  it('copies Decimals of another precision into the 60-digit engine clone', () => {
    const third = toDec(new Decimal(1), 'x').div(3);
    expect(third.toFixed().length).toBe(62); // "0." and 60 digits
    expect(Dec.precision).toBe(60);
  });
});
