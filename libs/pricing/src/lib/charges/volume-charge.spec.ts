import { amountOf, price } from './charge-test-support';

// 0–100 at 1 + 10 flat, 101–200 at 0.5 + 5 flat, 201–∞ at 0.1 (no flat).
const RANGES = {
  volume_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '10' },
    { from_value: 101, to_value: 200, per_unit_amount: '0.5', flat_amount: '5' },
    { from_value: 201, to_value: null, per_unit_amount: '0.1', flat_amount: '0' },
  ],
};

describe('volume charge', () => {
  it('charges the first range flat amount at zero units', () => {
    expect(price('volume', RANGES, '0')).toEqual({
      amount: '10',
      units: '0',
      breakdown: [
        { description: 'range 1 (0–100)', units: '0', amount: '10', fromValue: '0', toValue: '100', perUnitAmount: '1', flatAmount: '10' },
      ],
    });
  });

  it('prices small and fractional quantities in the first range with its flat amount', () => {
    expect(amountOf('volume', RANGES, '0.3')).toBe('10.3'); // 0.3 × 1 + 10
    expect(amountOf('volume', RANGES, '1')).toBe('11');
  });

  it('prices exactly at a to_value in that range', () => {
    expect(price('volume', RANGES, '100')).toEqual({
      amount: '110', // 100 × 1 + 10
      units: '100',
      breakdown: [
        { description: 'range 1 (0–100)', units: '100', amount: '110', fromValue: '0', toValue: '100', perUnitAmount: '1', flatAmount: '10' },
      ],
    });
    expect(amountOf('volume', RANGES, '200')).toBe('105'); // 200 × 0.5 + 5
  });

  it('prices every unit at the next range one unit above', () => {
    expect(price('volume', RANGES, '101')).toEqual({
      amount: '55.5', // 101 × 0.5 + 5
      units: '101',
      breakdown: [
        { description: 'range 2 (101–200)', units: '101', amount: '55.5', fromValue: '101', toValue: '200', perUnitAmount: '0.5', flatAmount: '5' },
      ],
    });
    expect(amountOf('volume', RANGES, '201')).toBe('20.1'); // 201 × 0.1
  });

  it('puts a fraction past a to_value in the next range (Lago matches on ceil(units))', () => {
    expect(amountOf('volume', RANGES, '100.5')).toBe('55.25'); // 100.5 × 0.5 + 5
    expect(amountOf('volume', RANGES, '200.01')).toBe('20.001'); // 200.01 × 0.1
  });

  it('is exact for tiny unit prices: 0.00012 × 1,000,001 = 120.00012', () => {
    const tiny = {
      volume_ranges: [
        { from_value: 0, to_value: 1000, per_unit_amount: '0.001', flat_amount: '0' },
        { from_value: 1001, to_value: null, per_unit_amount: '0.00012', flat_amount: '0' },
      ],
    };
    expect(amountOf('volume', tiny, '1000001')).toBe('120.00012');
  });
});
