import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { priceCharge } from './price-charge';

describe('priceCharge', () => {
  it('refuses an unknown model', () => {
    expect(() => priceCharge('dynamic', {}, { units: new Decimal(1) })).toThrow(
      new PricingError('unknown charge model "dynamic" (expected one of: standard, graduated, volume, package, percentage, graduated_percentage)'),
    );
  });

  it('validates the properties before pricing', () => {
    expect(() => priceCharge('standard', { amount: '-1' }, { units: new Decimal(1) })).toThrow(new PricingError('amount must not be negative, got "-1"'));
  });

  it('refuses negative and non-finite units, and accepts a negative zero as zero', () => {
    expect(() => priceCharge('standard', { amount: '1' }, { units: new Decimal(-1) })).toThrow(new PricingError('units must not be negative, got "-1"'));
    expect(() => priceCharge('standard', { amount: '1' }, { units: new Decimal(Number.NaN) })).toThrow(new PricingError('units must be a finite number, got NaN'));
    expect(() => priceCharge('standard', { amount: '1' }, { units: new Decimal(Infinity) })).toThrow(
      new PricingError('units must be a finite number, got Infinity'),
    );
    expect(priceCharge('standard', { amount: '1' }, { units: new Decimal('-0') }).units.isNegative()).toBe(false);
  });

  it('refuses units that are not a Decimal', () => {
    expect(() => priceCharge('standard', { amount: '1' }, { units: '5' as unknown as Decimal })).toThrow(new PricingError('units must be a Decimal'));
  });

  it('computes at 60 digits even when the input comes from the 20-digit default Decimal', () => {
    // 12345678901234567890.123456789 × 1.00000000000000000001
    //   = 12345678901234567890.123456789 + 0.12345678901234567890123456789
    const result = priceCharge('standard', { amount: '1.00000000000000000001' }, { units: new Decimal('12345678901234567890.123456789') });
    expect(result.amount.toFixed()).toBe('12345678901234567890.24691357801234567890123456789');
  });

  it('returns the units it priced', () => {
    const properties = { volume_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '2', flat_amount: '1' }] };
    const result = priceCharge('volume', properties, { units: new Decimal('7.25') });
    expect([result.units.toFixed(), result.amount.toFixed()]).toEqual(['7.25', '15.5']); // 7.25 × 2 + 1
  });
});
