import Decimal from 'decimal.js';
import { amountOf, price } from './charge-test-support';
import { unitsInRange } from './graduated-charge';
import { PricingDecimal } from './pricing-decimal';

// 0–100 at 1 + 10 flat, 101–200 at 0.5 + 5 flat, 201–∞ at 0.1 (no flat).
const RANGES = {
  graduated_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '10' },
    { from_value: 101, to_value: 200, per_unit_amount: '0.5', flat_amount: '5' },
    { from_value: 201, to_value: null, per_unit_amount: '0.1', flat_amount: '0' },
  ],
};

describe('graduated charge', () => {
  it('charges the first range flat amount at zero units (Lago: a first-tier platform fee)', () => {
    expect(price('graduated', RANGES, '0')).toEqual({
      amount: '10',
      units: '0',
      breakdown: [
        { description: 'range 1 (0–100)', units: '0', amount: '10', fromValue: '0', toValue: '100', perUnitAmount: '1', flatAmount: '10' },
      ],
    });
  });

  it('charges the first range flat amount from the first unit, fractional or not', () => {
    expect(amountOf('graduated', RANGES, '1')).toBe('11'); // 1 × 1 + 10
    expect(amountOf('graduated', RANGES, '0.5')).toBe('10.5'); // 0.5 × 1 + 10
  });

  it('stays in the first range exactly at its to_value', () => {
    expect(price('graduated', RANGES, '100')).toEqual({
      amount: '110', // 100 × 1 + 10
      units: '100',
      breakdown: [
        { description: 'range 1 (0–100)', units: '100', amount: '110', fromValue: '0', toValue: '100', perUnitAmount: '1', flatAmount: '10' },
      ],
    });
  });

  it('enters the second range (and its flat amount) one unit above', () => {
    expect(price('graduated', RANGES, '101')).toEqual({
      amount: '115.5', // 110 + 1 × 0.5 + 5
      units: '101',
      breakdown: [
        { description: 'range 1 (0–100)', units: '100', amount: '110', fromValue: '0', toValue: '100', perUnitAmount: '1', flatAmount: '10' },
        { description: 'range 2 (101–200)', units: '1', amount: '5.5', fromValue: '101', toValue: '200', perUnitAmount: '0.5', flatAmount: '5' },
      ],
    });
  });

  it('bills the fraction between two ranges in the next range: 100.5 units are 100 + 0.5', () => {
    const result = price('graduated', RANGES, '100.5');
    expect(result.amount).toBe('115.25'); // 110 + 0.5 × 0.5 + 5
    expect(result.breakdown.map((line) => line.units)).toEqual(['100', '0.5']);
  });

  it('walks every range up to the one holding the units', () => {
    expect(amountOf('graduated', RANGES, '200')).toBe('165'); // 110 + 100 × 0.5 + 5
    expect(amountOf('graduated', RANGES, '200.5')).toBe('165.05'); // 165 + 0.5 × 0.1
    const result = price('graduated', RANGES, '201');
    expect(result.amount).toBe('165.1'); // 165 + 1 × 0.1
    expect(result.breakdown.map((line) => [line.description, line.units, line.amount])).toEqual([
      ['range 1 (0–100)', '100', '110'],
      ['range 2 (101–200)', '100', '55'],
      ['range 3 (201–∞)', '1', '0.1'],
    ]);
    expect(result.breakdown[2]).toMatchObject({ toValue: null, flatAmount: '0' });
    expect(amountOf('graduated', RANGES, '1000')).toBe('245'); // 165 + 800 × 0.1
  });

  it('matches the Lago docs example: 1 for the first 100, 0.50 for the next 100, 0.10 after', () => {
    const docs = {
      graduated_ranges: [
        { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '0' },
        { from_value: 101, to_value: 200, per_unit_amount: '0.5', flat_amount: '0' },
        { from_value: 201, to_value: null, per_unit_amount: '0.1', flat_amount: '0' },
      ],
    };
    expect(amountOf('graduated', docs, '250')).toBe('155'); // 100 + 50 + 5
  });

  it('is exact for tiny unit prices: 0.00012 × 1,000,001 = 120.00012 in a single open range', () => {
    const single = { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '0.00012', flat_amount: '0' }] };
    expect(amountOf('graduated', single, '1000001')).toBe('120.00012');
  });

  it('charges a flat amount only in a range with a zero per-unit amount (flat-fee tiers)', () => {
    const flatOnly = {
      graduated_ranges: [
        { from_value: 0, to_value: 10, per_unit_amount: '0', flat_amount: '0' },
        { from_value: 11, to_value: null, per_unit_amount: '0', flat_amount: '49' },
      ],
    };
    expect(amountOf('graduated', flatOnly, '10')).toBe('0');
    expect(amountOf('graduated', flatOnly, '10.01')).toBe('49');
    expect(amountOf('graduated', flatOnly, '5000')).toBe('49');
  });
});

describe('unitsInRange (Lago formula)', () => {
  const range = (from: number, to: number | null) => ({
    fromValue: new PricingDecimal(from),
    toValue: to === null ? null : new PricingDecimal(to),
    flatAmount: new PricingDecimal(0),
  });
  const units = (from: number, to: number | null, total: string) => unitsInRange(range(from, to), new Decimal(total)).toFixed();

  it('bills a passed range in full: to_value − from_value + 1, or to_value from 0', () => {
    expect(units(0, 100, '250')).toBe('100');
    expect(units(101, 200, '250')).toBe('100');
    expect(units(101, 200, '200')).toBe('100');
  });

  it('bills the part of the total inside the range', () => {
    expect(units(0, 100, '42.5')).toBe('42.5');
    expect(units(101, 200, '150')).toBe('50'); // 150 − 101 + 1
    expect(units(201, null, '200.25')).toBe('0.25'); // 200.25 − 201 + 1
  });
});
