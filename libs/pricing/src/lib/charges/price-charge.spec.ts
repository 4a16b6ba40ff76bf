import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { priceCharge } from './price-charge';

describe('priceCharge', () => {
  it('refuses an unknown model', () => {
    expect(() => priceCharge('tiered', {}, { units: new Decimal(1) })).toThrow(
      new PricingError('unknown charge model "tiered" (expected one of: standard, graduated, volume, package, percentage, graduated_percentage, dynamic)'),
    );
  });

  it('validates the properties before pricing', () => {
    expect(() => priceCharge('standard', { amount: '-1' }, { units: new Decimal(1) })).toThrow(new PricingError('amount must not be negative, got "-1"'));
  });

  it('refuses non-finite units, and accepts a negative zero as zero', () => {
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

  // Lago: Fees::ChargeService "Prevent trying to create a fee with negative units or amount" (lago-api#2966).
  describe('a negative quantity (a meter summing negative values) is charged 0, keeping the real quantity', () => {
    const ranges = (key: string, extra: Record<string, string>) => ({
      [key]: [
        { from_value: 0, to_value: 100, flat_amount: '10', ...extra },
        { from_value: 101, to_value: null, flat_amount: '5', ...extra },
      ],
    });
    const models: Array<[string, unknown]> = [
      ['standard', { amount: '2' }],
      ['graduated', ranges('graduated_ranges', { per_unit_amount: '1' })],
      ['volume', ranges('volume_ranges', { per_unit_amount: '1' })],
      ['package', { amount: '5', package_size: 10, free_units: 0 }],
      ['graduated_percentage', ranges('graduated_percentage_ranges', { rate: '1' })],
      ['percentage', { rate: '1', fixed_amount: '2' }],
      ['dynamic', {}],
    ];
    it.each(models)('%s: amount 0, not even a first range flat amount, units and the breakdown show the quantity', (model, properties) => {
      for (const units of ['-3', '-0.000001', '-100.5', '-1e40']) {
        const result = priceCharge(model, properties, { units: new Decimal(units), eventCount: 4, eventAmountTotal: new Decimal(12) });
        expect(result.amount.isZero()).toBe(true);
        expect(result.units.eq(units)).toBe(true);
        expect(result.breakdown).toEqual([{ description: `negative quantity ${new Decimal(units).toFixed()} charged as 0`, units: result.units, amount: result.amount }]);
      }
    });

    it('percentage with events: negative event amounts are still refused', () => {
      expect(() => priceCharge('percentage', { rate: '1' }, { units: new Decimal(-5), events: [new Decimal(-5)] })).toThrow(new PricingError('events[0] must not be negative, got "-5"'));
      expect(() => priceCharge('percentage', { rate: '1' }, { units: new Decimal(-5), events: [new Decimal(5)] })).toThrow(/must equal the sum of events/);
    });
  });
});
