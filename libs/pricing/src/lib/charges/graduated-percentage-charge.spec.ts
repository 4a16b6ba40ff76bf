import { amountOf, price } from './charge-test-support';

// The Lago docs example: 0–1,000 at 1 % + 200 flat, 1,001–10,000 at 2 % + 300 flat, 10,001–∞ at 3 % + 400 flat.
const RANGES = {
  graduated_percentage_ranges: [
    { from_value: 0, to_value: 1000, rate: '1', flat_amount: '200' },
    { from_value: 1001, to_value: 10000, rate: '2', flat_amount: '300' },
    { from_value: 10001, to_value: null, rate: '3', flat_amount: '400' },
  ],
};

describe('graduated_percentage charge', () => {
  it('charges the first range flat amount at zero units', () => {
    expect(price('graduated_percentage', RANGES, '0')).toEqual({
      amount: '200',
      units: '0',
      breakdown: [{ description: 'range 1 (0–1000)', units: '0', amount: '200', fromValue: '0', toValue: '1000', rate: '1', flatAmount: '200' }],
    });
  });

  it('matches the Lago docs: 500 cost 205, then 550 more cost 306', () => {
    expect(amountOf('graduated_percentage', RANGES, '500')).toBe('205'); // 500 × 1 % + 200
    expect(amountOf('graduated_percentage', RANGES, '1050')).toBe('511'); // 210 + 50 × 2 % + 300 = 205 + 306
  });

  it('stays in a range exactly at its to_value and enters the next one unit above', () => {
    expect(amountOf('graduated_percentage', RANGES, '1000')).toBe('210'); // 1000 × 1 % + 200
    expect(price('graduated_percentage', RANGES, '1001')).toEqual({
      amount: '510.02', // 210 + 1 × 2 % + 300
      units: '1001',
      breakdown: [
        { description: 'range 1 (0–1000)', units: '1000', amount: '210', fromValue: '0', toValue: '1000', rate: '1', flatAmount: '200' },
        { description: 'range 2 (1001–10000)', units: '1', amount: '300.02', fromValue: '1001', toValue: '10000', rate: '2', flatAmount: '300' },
      ],
    });
    expect(amountOf('graduated_percentage', RANGES, '10000')).toBe('690'); // 210 + 9000 × 2 % + 300
    expect(amountOf('graduated_percentage', RANGES, '10001')).toBe('1090.03'); // 690 + 1 × 3 % + 400
    expect(amountOf('graduated_percentage', RANGES, '20000')).toBe('1390'); // 690 + 10000 × 3 % + 400
  });

  it('bills a fraction past a to_value in the next range', () => {
    expect(amountOf('graduated_percentage', RANGES, '1000.5')).toBe('510.01'); // 210 + 0.5 × 2 % + 300
  });

  it('is exact for tiny rates: 0.012 % of 1,000,001 = 120.00012', () => {
    const single = { graduated_percentage_ranges: [{ from_value: 0, to_value: null, rate: '0.012', flat_amount: '0' }] };
    expect(amountOf('graduated_percentage', single, '1000001')).toBe('120.00012');
  });

  it('does not need events', () => {
    expect(amountOf('graduated_percentage', RANGES, '500', ['200', '300'])).toBe('205');
  });
});
