import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { chargeInputNeeds } from './charge-input-needs';
import { validateChargeProperties } from './charge-properties';
import { amountOf, price } from './charge-test-support';
import { unitsInRange } from './graduated-charge';
import { priceCharge } from './price-charge';
import { PricingDecimal } from './pricing-decimal';

// Cases taken from lago-api's own specs (the expected amounts are Lago's), each group naming the file.

const bound = (from: string, to: string | null) => ({
  fromValue: new PricingDecimal(from),
  toValue: to === null ? null : new PricingDecimal(to),
  flatAmount: new PricingDecimal(0),
});

// spec/services/charge_models/amount_details/range_graduated_service_spec.rb
describe('Lago RangeGraduatedService#units', () => {
  it('inclusive ranges: 0–10 holds 10 of 15 units, 11–20 holds 5', () => {
    expect(unitsInRange(bound('0', '10'), new Decimal(15)).toFixed()).toBe('10');
    expect(unitsInRange(bound('11', '20'), new Decimal(15)).toFixed()).toBe('5');
    expect(unitsInRange(bound('0', '10'), new Decimal(0)).toFixed()).toBe('0');
  });

  it('adjacent ranges: to − from when exhausted, total − from inside, total from 0', () => {
    expect(unitsInRange(bound('0.1', '1'), new Decimal('1.5'), 'adjacent').toFixed()).toBe('0.9');
    expect(unitsInRange(bound('0.1', '2'), new Decimal('0.5'), 'adjacent').toFixed()).toBe('0.4');
    expect(unitsInRange(bound('0', '0.1'), new Decimal('0.05'), 'adjacent').toFixed()).toBe('0.05');
  });
});

// spec/services/charge_models/graduated_service_spec.rb
describe('Lago GraduatedService', () => {
  const ranges = {
    graduated_ranges: [
      { from_value: 0, to_value: 10, per_unit_amount: '10', flat_amount: '2' },
      { from_value: 11, to_value: 20, per_unit_amount: '5', flat_amount: '3' },
      { from_value: 21, to_value: null, per_unit_amount: '5', flat_amount: '3' },
    ],
  };

  it.each([
    ['0', '2'], // the first range's flat amount (lago-api#5760)
    ['1', '12'],
    ['10', '102'],
    ['11', '110'],
    ['12', '115'],
    ['21', '163'],
  ])('%s units cost %s', (units, amount) => {
    expect(amountOf('graduated', ranges, units)).toBe(amount);
  });

  it('shows the first range at 0 units with its flat amount', () => {
    expect(price('graduated', ranges, '0').breakdown).toEqual([
      { description: 'range 1 (0–10)', units: '0', amount: '2', fromValue: '0', toValue: '10', perUnitAmount: '10', flatAmount: '2' },
    ]);
  });

  describe('decimal adjacent ranges 0–0.1 at 10, 0.1–1 at 5, 1–∞ at 2', () => {
    const adjacent = {
      graduated_ranges: [
        { from_value: 0, to_value: 0.1, per_unit_amount: '10', flat_amount: '0' },
        { from_value: 0.1, to_value: 1, per_unit_amount: '5', flat_amount: '0' },
        { from_value: 1, to_value: null, per_unit_amount: '2', flat_amount: '0' },
      ],
    };

    it('0.05 units cost 0.5 (inside the first range)', () => {
      expect(amountOf('graduated', adjacent, '0.05')).toBe('0.5');
    });

    it('0.5 units cost 3: 0.1 × 10 + 0.4 × 5', () => {
      expect(price('graduated', adjacent, '0.5').breakdown.map((line) => [line.units, line.amount])).toEqual([
        ['0.1', '1'],
        ['0.4', '2'],
      ]);
      expect(amountOf('graduated', adjacent, '0.5')).toBe('3');
    });

    // Derived from the same formula: a range holds to − from, the last what is above its from.
    it('stays in a range at its to_value and goes on above it: 1 unit = 0.1 × 10 + 0.9 × 5, 2.5 = 5.5 + 1.5 × 2', () => {
      expect(amountOf('graduated', adjacent, '0.1')).toBe('1');
      expect(price('graduated', adjacent, '1').breakdown).toHaveLength(2);
      expect(amountOf('graduated', adjacent, '1')).toBe('5.5');
      expect(amountOf('graduated', adjacent, '2.5')).toBe('8.5');
    });

    it('bills every unit exactly once: range units add up to the total', () => {
      for (const total of ['0', '0.0001', '0.1', '0.1000001', '0.99', '1', '1.5', '1000']) {
        const units = price('graduated', adjacent, total).breakdown.reduce((s, line) => s.plus(line.units), new Decimal(0));
        expect(units.toFixed()).toBe(new Decimal(total).toFixed());
      }
    });

    it('integer adjacent ranges 0–100, 100–∞ hold 100 then the rest (not 101 as the inclusive formula would say)', () => {
      const integerAdjacent = {
        graduated_ranges: [
          { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '0' },
          { from_value: 100, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
        ],
      };
      expect(amountOf('graduated', integerAdjacent, '100')).toBe('100');
      expect(amountOf('graduated', integerAdjacent, '150')).toBe('125'); // 100 + 50 × 0.5
    });
  });

  it('inclusive ranges with decimal bounds (accepted by Lago): 0–0.5, 1.5–∞ bill min(total, to) − previous to', () => {
    const decimalInclusive = {
      graduated_ranges: [
        { from_value: 0, to_value: 0.5, per_unit_amount: '2', flat_amount: '0' },
        { from_value: 1.5, to_value: null, per_unit_amount: '1', flat_amount: '0' },
      ],
    };
    expect(price('graduated', decimalInclusive, '1').breakdown.map((line) => line.units)).toEqual(['0.5', '0.5']); // 1 − 1.5 + 1
    expect(amountOf('graduated', decimalInclusive, '3')).toBe('3.5'); // 0.5 × 2 + 2.5 × 1
  });
});

// spec/services/charge_models/volume_service_spec.rb
describe('Lago VolumeService', () => {
  const ranges = {
    volume_ranges: [
      { from_value: 0, to_value: 100, per_unit_amount: '2', flat_amount: '10' },
      { from_value: 101, to_value: 200, per_unit_amount: '1', flat_amount: '0' },
      { from_value: 201, to_value: null, per_unit_amount: '0.5', flat_amount: '50' },
    ],
  };

  it.each([
    ['0', '10'], // the first range's flat amount (lago-api#5760)
    ['1', '12'],
    ['100', '210'],
    ['100.5', '100.5'],
    ['101', '101'],
    ['200', '200'],
    ['300', '200'],
  ])('%s units cost %s', (units, amount) => {
    expect(amountOf('volume', ranges, units)).toBe(amount);
  });

  it('costs nothing at 0 units when the first range has no flat amount (Lago: "when first tier flat amount is zero")', () => {
    const freeFirst = {
      volume_ranges: [
        { from_value: 0, to_value: 1, per_unit_amount: '0', flat_amount: '0' },
        { from_value: 2, to_value: 100, per_unit_amount: '2', flat_amount: '10' },
        { from_value: 101, to_value: null, per_unit_amount: '0.5', flat_amount: '50' },
      ],
    };
    expect(amountOf('volume', freeFirst, '0')).toBe('0');
  });
});

// spec/services/charge_models/graduated_percentage_service_spec.rb and
// spec/services/charge_models/amount_details/range_graduated_percentage_service_spec.rb
describe('Lago GraduatedPercentageService', () => {
  const ranges = {
    graduated_percentage_ranges: [
      { from_value: 0, to_value: 10, rate: '1', flat_amount: '200' },
      { from_value: 11, to_value: 20, rate: '2', flat_amount: '300' },
      { from_value: 21, to_value: null, rate: '3', flat_amount: '400' },
    ],
  };

  it.each([
    ['0', '200'], // the first range's flat amount (lago-api#5760)
    ['1', '200.01'],
    ['10', '200.1'],
    ['11', '500.12'], // 200.1 + 1 × 2 % + 300
    ['12', '500.14'],
    ['21', '900.33'], // 200.1 + 300.2 + 1 × 3 % + 400
  ])('%s units cost %s', (units, amount) => {
    expect(amountOf('graduated_percentage', ranges, units)).toBe(amount);
  });

  it('adjacent ranges hold to − from as in graduated (Lago adds 1 here: a deliberate difference, see the README)', () => {
    const adjacent = {
      graduated_percentage_ranges: [
        { from_value: 0, to_value: 1000, rate: '1', flat_amount: '0' },
        { from_value: 1000, to_value: null, rate: '2', flat_amount: '0' },
      ],
    };
    // Lago: 1000 × 1 % + (1500 − 1000 + 1) × 2 % = 20.02, billing 1501 units for 1500.
    expect(price('graduated_percentage', adjacent, '1500').breakdown.map((line) => line.units)).toEqual(['1000', '500']);
    expect(amountOf('graduated_percentage', adjacent, '1500')).toBe('20');
  });
});

// spec/services/charge_models/percentage_service_spec.rb: rate and fixed amount without free units or
// min/max read only the units and the aggregation's event count.
describe('Lago PercentageService from units alone', () => {
  it('rate only: units × rate / 100, no events needed ("with small units amount": 4 at 2.9 % = 0.116)', () => {
    expect(amountOf('percentage', { rate: '2.9' }, '4')).toBe('0.116');
    expect(amountOf('percentage', { rate: '1.3' }, '0')).toBe('0');
  });

  it('with a fixed amount: + event count × fixed amount, none when units are 0 (compute_fixed_amount)', () => {
    // "when free units are not set": 800 at 1.3 % + 4 events × 2 = 18.4; "when rate is 0": 4 × 2 = 8.
    expect(priceCharge('percentage', { rate: '1.3', fixed_amount: '2.0' }, { units: new Decimal(800), eventCount: 4 }).amount.toFixed()).toBe('18.4');
    expect(priceCharge('percentage', { rate: '0', fixed_amount: '2.0' }, { units: new Decimal(800), eventCount: 4 }).amount.toFixed()).toBe('8');
    // "when aggregation value is 0"
    expect(priceCharge('percentage', { rate: '1.3', fixed_amount: '2.0' }, { units: new Decimal(0), eventCount: 4 }).amount.toFixed()).toBe('0');
  });

  it('gives the same amount as with the events it stands for', () => {
    const props = { rate: '1.3', fixed_amount: '0.25' };
    const events = ['50', '100', '250', '400'].map((e) => new Decimal(e));
    const withEvents = priceCharge('percentage', props, { units: new Decimal(800), events }).amount;
    expect(priceCharge('percentage', props, { units: new Decimal(800), eventCount: 4 }).amount.eq(withEvents)).toBe(true);
  });
});

// spec/services/charge_models/dynamic_service_spec.rb: aggregation 20, precise_total_amount_cents 40.2
// (in cents: 0.402 in the currency).
describe('Lago DynamicService', () => {
  const dynamic = (units: string, total?: string) =>
    priceCharge('dynamic', {}, { units: new Decimal(units), ...(total === undefined ? {} : { eventAmountTotal: new Decimal(total) }) });

  it("charges the sum of the events' amounts", () => {
    expect(dynamic('20', '0.402').amount.toFixed()).toBe('0.402');
    expect(dynamic('20', '0.402').breakdown.map((line) => [line.description, line.units.toFixed(), line.amount.toFixed()])).toEqual([["sum of the events' amounts", '20', '0.402']]);
  });

  it('charges nothing when the units are 0, whatever the events carry', () => {
    expect(dynamic('0', '40.2').amount.toFixed()).toBe('0');
  });

  it('charges a negative sum (corrections outweighing charges) as 0 (Fees::ChargeService, lago-api#2966)', () => {
    expect(dynamic('3', '-5').amount.toFixed()).toBe('0');
    expect(dynamic('3', '-5').breakdown[0].description).toBe('negative amount -5 of the events charged as 0');
  });

  it('needs the amounts, ignores properties, refuses a non-finite total', () => {
    expect(() => dynamic('3')).toThrow(new PricingError('eventAmountTotal is required by the dynamic charge model (the sum of the amounts the events carry)'));
    expect(priceCharge('dynamic', { pricing_group_keys: ['region'] }, { units: new Decimal(1), eventAmountTotal: new Decimal(7) }).amount.toFixed()).toBe('7');
    expect(() => dynamic('1', 'Infinity')).toThrow(new PricingError('eventAmountTotal must be a finite number, got Infinity'));
    expect(() => priceCharge('dynamic', null, { units: new Decimal(1), eventAmountTotal: new Decimal(7) })).toThrow(new PricingError('properties is required'));
  });
});

describe('chargeInputNeeds', () => {
  const needs = (model: string, properties: unknown) => chargeInputNeeds(validateChargeProperties(model, properties)).map((need) => need.input);

  it('is empty for the models priced from units alone', () => {
    expect(needs('standard', { amount: '1' })).toEqual([]);
    expect(needs('package', { amount: '1', package_size: 10, free_units: 0 })).toEqual([]);
    expect(needs('percentage', { rate: '2' })).toEqual([]);
    expect(needs('percentage', { rate: '2', fixed_amount: '0' })).toEqual([]);
  });

  it('names what the other charges need', () => {
    expect(needs('percentage', { rate: '2', fixed_amount: '0.3' })).toEqual(['eventCount']);
    expect(needs('percentage', { rate: '2', free_units_per_events: 3, per_transaction_min_amount: '1' })).toEqual(['events', 'events']);
    expect(needs('dynamic', {})).toEqual(['eventAmountTotal']);
    expect(chargeInputNeeds(validateChargeProperties('percentage', { rate: '2', free_units_per_total_aggregation: '100' }))[0].reason).toBe(
      "free_units_per_total_aggregation works event by event, so it needs each event's amount",
    );
  });
});
