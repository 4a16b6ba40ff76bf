import { PricingError } from '../charge-model';
import { assertCurrency, formatMinor, minorUnits, roundToMinorUnit } from './currency';
import { Dec } from './money';

const rounded = (amount: string, currency: string) => formatMinor(roundToMinorUnit(amount, currency), currency);

describe('minorUnits', () => {
  it.each(['EUR', 'USD', 'GBP', 'CHF', 'SEK'])('%s has 2 decimals', (c) => expect(minorUnits(c)).toBe(2));
  it.each(['JPY', 'KRW', 'CLP', 'VND', 'ISK', 'UGX', 'XAF', 'XOF', 'PYG', 'BIF'])('%s has no decimals', (c) => expect(minorUnits(c)).toBe(0));
  it.each(['BHD', 'KWD', 'OMR', 'JOD', 'TND', 'IQD', 'LYD'])('%s has 3 decimals', (c) => expect(minorUnits(c)).toBe(3));
  it('defaults an unlisted but well-formed code to 2', () => expect(minorUnits('XYZ')).toBe(2));
});

describe('assertCurrency', () => {
  it.each(['eur', 'EU', 'EURO', '', 'E1R', '€', ' EUR'])('rejects %j', (c) => {
    expect(() => assertCurrency(c)).toThrow(PricingError);
    expect(() => minorUnits(c)).toThrow(/three upper-case letters/);
  });
  it('accepts EUR', () => expect(() => assertCurrency('EUR')).not.toThrow());
});

describe('roundToMinorUnit: half away from zero (DIN 1333)', () => {
  it.each([
    ['1.005', '1.01'],
    ['1.015', '1.02'],
    ['2.675', '2.68'], // 2.675 as a binary float is 2.67499999…, and Math.round gives 2.67
    ['1.0049999', '1.00'],
    ['0.125', '0.13'],
    ['0.005', '0.01'],
    ['0.0049', '0.00'],
    ['-1.005', '-1.01'],
    ['-0.005', '-0.01'],
    ['-0.004', '0.00'],
    ['10', '10.00'],
    ['1e-30', '0.00'],
  ])('EUR %s → %s', (amount, expected) => expect(rounded(amount, 'EUR')).toBe(expected));

  it.each([
    ['100.5', '101'],
    ['100.4999', '100'],
    ['99.5', '100'],
    ['-0.5', '-1'],
    ['1234', '1234'],
  ])('JPY has no decimals: %s → %s', (amount, expected) => expect(rounded(amount, 'JPY')).toBe(expected));

  it.each([
    ['1.0005', '1.001'],
    ['1.0004', '1.000'],
    ['12.3456', '12.346'],
    ['-2.0005', '-2.001'],
  ])('KWD has 3 decimals: %s → %s', (amount, expected) => expect(rounded(amount, 'KWD')).toBe(expected));

  it('takes a Decimal too and keeps 60 digits until it rounds', () => {
    const third = new Dec(1).div(3);
    expect(third.times(3).toFixed()).toBe('0.' + '9'.repeat(60)); // 60 significant digits
    expect(roundToMinorUnit(third.times(3), 'EUR').toFixed(2)).toBe('1.00');
    expect(roundToMinorUnit(third.times('0.03'), 'EUR').toFixed(2)).toBe('0.01');
  });

  it('refuses what is not a decimal', () => {
    expect(() => roundToMinorUnit('abc', 'EUR')).toThrow(PricingError);
    expect(() => roundToMinorUnit('1', 'eur')).toThrow(PricingError);
  });
});
