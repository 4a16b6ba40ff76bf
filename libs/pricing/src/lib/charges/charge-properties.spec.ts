import { PricingError } from '../charge-model';
import { validateChargeProperties } from './charge-properties';

const range = (from: unknown, to: unknown, extra: Record<string, unknown> = { per_unit_amount: '1', flat_amount: '0' }) => ({
  from_value: from,
  to_value: to,
  ...extra,
});

function rejects(model: string, properties: unknown, message: string): void {
  expect(() => validateChargeProperties(model, properties)).toThrow(PricingError);
  expect(() => validateChargeProperties(model, properties)).toThrow(new PricingError(message));
}

describe('validateChargeProperties', () => {
  it('refuses an unknown model, listing the known ones', () => {
    rejects(
      'tiered',
      {},
      'unknown charge model "tiered" (expected one of: standard, graduated, volume, package, percentage, graduated_percentage, dynamic)',
    );
  });

  it('needs properties to be an object', () => {
    rejects('standard', undefined, 'properties is required');
    rejects('standard', null, 'properties is required');
    rejects('standard', [], 'properties must be an object, got []');
    rejects('standard', '{"amount":"1"}', 'properties must be an object, got "{\\"amount\\":\\"1\\"}"');
  });

  describe('amounts', () => {
    it('accepts decimal strings and finite numbers', () => {
      for (const amount of ['1', '0', '0.00012', '12.', '.5', '1e3', '+2', 7, 0.25]) {
        expect(() => validateChargeProperties('standard', { amount })).not.toThrow();
      }
    });

    it('names the field that is missing, negative or not a decimal', () => {
      rejects('standard', {}, 'amount is required');
      rejects('standard', { amount: null }, 'amount is required');
      rejects('standard', { amount: '-1' }, 'amount must not be negative, got "-1"');
      rejects('standard', { amount: -0.5 }, 'amount must not be negative, got -0.5');
      rejects('standard', { amount: 'abc' }, 'amount must be a decimal string or a number, got "abc"');
      rejects('standard', { amount: '' }, 'amount must be a decimal string or a number, got ""');
      rejects('standard', { amount: '1,5' }, 'amount must be a decimal string or a number, got "1,5"');
      rejects('standard', { amount: ' 1' }, 'amount must be a decimal string or a number, got " 1"');
      rejects('standard', { amount: 'Infinity' }, 'amount must be a decimal string or a number, got "Infinity"');
      rejects('standard', { amount: '0x10' }, 'amount must be a decimal string or a number, got "0x10"');
      rejects('standard', { amount: Number.NaN }, 'amount must be a decimal string or a number, got NaN');
      rejects('standard', { amount: true }, 'amount must be a decimal string or a number, got true');
      rejects('standard', { amount: { cents: 1 } }, 'amount must be a decimal string or a number, got {"cents":1}');
    });

    it('accepts a negative zero as zero', () => {
      const parsed = validateChargeProperties('standard', { amount: '-0' });
      expect(parsed.model === 'standard' && parsed.properties.amount.isNegative()).toBe(false);
    });
  });

  describe.each([
    ['graduated', 'graduated_ranges'],
    ['volume', 'volume_ranges'],
  ])('%s ranges', (model, key) => {
    const props = (...ranges: unknown[]) => ({ [key]: ranges });

    it('accepts contiguous whole-unit ranges from 0, the last open-ended (Lago: next from_value = to_value + 1)', () => {
      const parsed = validateChargeProperties(model, props(range(0, 100), range(101, 200), range(201, null)));
      expect(parsed.model).toBe(model);
      expect(() => validateChargeProperties(model, props(range(0, null)))).not.toThrow();
      expect(() => validateChargeProperties(model, props(range('0', '100'), range('101', null)))).not.toThrow();
    });

    it('needs at least one range', () => {
      rejects(model, {}, `${key} is required`);
      rejects(model, props(), `${key} must be a non-empty array of ranges, got []`);
      rejects(model, { [key]: { from_value: 0 } }, `${key} must be a non-empty array of ranges, got {"from_value":0}`);
      rejects(model, props(5), `${key}[0] must be an object, got 5`);
    });

    it('starts at 0', () => {
      rejects(model, props(range(1, 100), range(101, null)), `${key}[0].from_value must be 0, got 1`);
      rejects(model, props(range(undefined, null)), `${key}[0].from_value is required`);
    });

    it('refuses overlapping or gapped ranges, naming the expected from_value', () => {
      const expected = (got: number) =>
        model === 'volume'
          ? `${key}[1].from_value must equal the previous to_value + 1 (101), got ${got}`
          : `${key}[1].from_value must equal the previous to_value (100, adjacent ranges) or the previous to_value + 1 (101, inclusive ranges), got ${got}`;
      rejects(model, props(range(0, 100), range(50, null)), expected(50));
      rejects(model, props(range(0, 100), range(150, null)), expected(150));
      // Lago's validator also takes to_value + 2 for volume and a first range from 1 (RangeBoundsValidator
      // accepts next_from or next_from + 1): a gap VolumeService cannot price, refused here.
      rejects(model, props(range(0, 100), range(102, null)), expected(102));
    });

    it('needs a to_value above from_value on every range but the last, and none on the last', () => {
      rejects(model, props(range(0, null), range(1, null)), `${key}[0].to_value is required on every range but the last`);
      rejects(model, props(range(0, 100), range(101, 101), range(102, null)), `${key}[1].to_value must be greater than from_value (101), got 101`);
      rejects(model, props(range(0, 0), range(1, null)), `${key}[0].to_value must be greater than from_value (0), got 0`);
      rejects(model, props(range(0, 100), range(101, 500)), `${key}[1].to_value must be null on the last range (it is open-ended), got 500`);
    });

    it('needs bounds of zero or more', () => {
      rejects(model, props(range(0, '-10'), range(-9, null)), `${key}[0].to_value must be zero or more, got "-10"`);
      rejects(model, props(range(0, 'ten'), range(11, null)), `${key}[0].to_value must be a decimal string or a number, got "ten"`);
    });

    it('needs a per_unit_amount and a flat_amount, neither negative', () => {
      rejects(model, props(range(0, 100), range(101, null, { per_unit_amount: '-0.5', flat_amount: '0' })), `${key}[1].per_unit_amount must not be negative, got "-0.5"`);
      rejects(model, props(range(0, null, { per_unit_amount: '1' })), `${key}[0].flat_amount is required`);
      rejects(model, props(range(0, null, { flat_amount: '1' })), `${key}[0].per_unit_amount is required`);
      rejects(model, props(range(0, null, { per_unit_amount: '1', flat_amount: '-3' })), `${key}[0].flat_amount must not be negative, got "-3"`);
    });
  });

  // Lago: Charges::Validators::VolumeService computes the next from_value as to_value + 1 (the
  // adjacent convention of lago-api#5269 is for graduated ranges only) and its GraphQL range type is
  // an integer.
  describe('volume ranges only', () => {
    const props = (...ranges: unknown[]) => ({ volume_ranges: ranges });
    it('needs whole-unit, inclusive bounds', () => {
      rejects('volume', props(range(0, 10.5), range(11.5, null)), 'volume_ranges[0].to_value must be a whole number, got 10.5');
      rejects('volume', props(range(0, 100), range(100, null)), 'volume_ranges[1].from_value must equal the previous to_value + 1 (101), got 100');
    });
  });

  // Lago: Charges::Validators::GraduatedService / GraduatedPercentageService with
  // Validators::RangeBoundsValidator since lago-api#5269 ("Enable decimals in graduated pricing tier
  // boundaries"): from_value == previous to_value (adjacent) or previous to_value + 1 (inclusive).
  describe.each([
    ['graduated', 'graduated_ranges', {}],
    ['graduated_percentage', 'graduated_percentage_ranges', { rate: '1', flat_amount: '0' }],
  ])('%s range conventions', (model, key, extra) => {
    const r = (from: unknown, to: unknown) => range(from, to, Object.keys(extra).length ? extra : undefined);
    const props = (...ranges: unknown[]) => ({ [key]: ranges });
    const bounds = (parsed: ReturnType<typeof validateChargeProperties>) => (parsed.properties as { rangeBounds: string }).rangeBounds;

    it('accepts adjacent ranges with decimal bounds (0–0.1, 0.1–1, 1–∞)', () => {
      expect(bounds(validateChargeProperties(model, props(r(0, '0.1'), r('0.1', 1), r(1, null))))).toBe('adjacent');
      expect(bounds(validateChargeProperties(model, props(r(0, 100), r(100, null))))).toBe('adjacent');
    });

    it('accepts inclusive ranges, decimal bounds included (Lago compares them as BigDecimal)', () => {
      expect(bounds(validateChargeProperties(model, props(r(0, 100), r(101, null))))).toBe('inclusive');
      expect(bounds(validateChargeProperties(model, props(r(0, '0.5'), r('1.5', null))))).toBe('inclusive');
      expect(bounds(validateChargeProperties(model, props(r(0, null))))).toBe('inclusive');
    });

    it('refuses a mix of both conventions (Lago would price it inclusive and bill a unit twice)', () => {
      rejects(model, props(r(0, 100), r(101, 200), r(200, null)), `${key}[2].from_value must equal the previous to_value + 1 (201) like the ranges before it (inclusive ranges; one convention for all), got 200`);
      rejects(model, props(r(0, 100), r(100, 200), r(201, null)), `${key}[2].from_value must equal the previous to_value (200) like the ranges before it (adjacent ranges; one convention for all), got 201`);
    });

    it('still starts at 0 and refuses a to_value not above from_value', () => {
      rejects(model, props(r('0.5', 1), r(1, null)), `${key}[0].from_value must be 0, got "0.5"`);
      rejects(model, props(r(0, '0.1'), r('0.1', '0.1'), r('0.1', null)), `${key}[1].to_value must be greater than from_value (0.1), got "0.1"`);
    });
  });

  describe('graduated_percentage ranges', () => {
    const r = (from: unknown, to: unknown, extra: Record<string, unknown> = { rate: '1', flat_amount: '0' }) => range(from, to, extra);

    it('needs a rate and a flat_amount per range', () => {
      rejects('graduated_percentage', { graduated_percentage_ranges: [r(0, null, { flat_amount: '0' })] }, 'graduated_percentage_ranges[0].rate is required');
      rejects(
        'graduated_percentage',
        { graduated_percentage_ranges: [r(0, null, { rate: '-1', flat_amount: '0' })] },
        'graduated_percentage_ranges[0].rate must not be negative, got "-1"',
      );
      rejects('graduated_percentage', { graduated_percentage_ranges: [r(0, null, { rate: '1' })] }, 'graduated_percentage_ranges[0].flat_amount is required');
    });
  });

  describe('package', () => {
    it('needs an amount, a package_size above 0 and free_units of 0 or more, as whole numbers', () => {
      rejects('package', { package_size: 10, free_units: 0 }, 'amount is required');
      rejects('package', { amount: '1', free_units: 0 }, 'package_size is required');
      rejects('package', { amount: '1', package_size: 0, free_units: 0 }, 'package_size must be greater than 0, got 0');
      rejects('package', { amount: '1', package_size: 2.5, free_units: 0 }, 'package_size must be a whole number, got 2.5');
      rejects('package', { amount: '1', package_size: 10 }, 'free_units is required');
      rejects('package', { amount: '1', package_size: 10, free_units: -1 }, 'free_units must be zero or more, got -1');
      rejects('package', { amount: '-1', package_size: 10, free_units: 0 }, 'amount must not be negative, got "-1"');
    });
  });

  describe('percentage', () => {
    it('needs a rate; the rest is optional', () => {
      rejects('percentage', {}, 'rate is required');
      rejects('percentage', { rate: '-1' }, 'rate must not be negative, got "-1"');
      const parsed = validateChargeProperties('percentage', { rate: '1.5' });
      if (parsed.model !== 'percentage') throw new Error('expected percentage');
      expect({
        fixedAmount: parsed.properties.fixedAmount.toFixed(),
        freeUnitsPerEvents: parsed.properties.freeUnitsPerEvents,
        freeUnitsPerTotalAggregation: parsed.properties.freeUnitsPerTotalAggregation.toFixed(),
        min: parsed.properties.perTransactionMinAmount,
        max: parsed.properties.perTransactionMaxAmount,
      }).toEqual({ fixedAmount: '0', freeUnitsPerEvents: 0, freeUnitsPerTotalAggregation: '0', min: null, max: null });
    });

    it('checks every optional field it is given', () => {
      rejects('percentage', { rate: '1', fixed_amount: '-2' }, 'fixed_amount must not be negative, got "-2"');
      rejects('percentage', { rate: '1', fixed_amount: '' }, 'fixed_amount must be a decimal string or a number, got ""');
      rejects('percentage', { rate: '1', free_units_per_events: 0 }, 'free_units_per_events must be greater than 0, got 0');
      rejects('percentage', { rate: '1', free_units_per_events: 1.5 }, 'free_units_per_events must be a whole number, got 1.5');
      rejects(
        'percentage',
        { rate: '1', free_units_per_total_aggregation: '-10' },
        'free_units_per_total_aggregation must not be negative, got "-10"',
      );
      rejects('percentage', { rate: '1', per_transaction_min_amount: 'x' }, 'per_transaction_min_amount must be a decimal string or a number, got "x"');
      rejects('percentage', { rate: '1', per_transaction_max_amount: '-1' }, 'per_transaction_max_amount must not be negative, got "-1"');
    });

    it('needs the maximum per transaction not to be below the minimum', () => {
      rejects(
        'percentage',
        { rate: '1', per_transaction_min_amount: '2', per_transaction_max_amount: '1' },
        'per_transaction_max_amount (1) must not be lower than per_transaction_min_amount (2)',
      );
      expect(() => validateChargeProperties('percentage', { rate: '1', per_transaction_min_amount: '2', per_transaction_max_amount: '2' })).not.toThrow();
    });
  });
});
