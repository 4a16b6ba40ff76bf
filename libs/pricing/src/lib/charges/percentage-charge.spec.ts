import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { amountOf, price } from './charge-test-support';
import { priceCharge } from './price-charge';

// Events [50, 100, 250, 400]: sum 800, running totals 50, 150, 400, 800.
const EVENTS = ['50', '100', '250', '400'];

describe('percentage charge', () => {
  describe('without per-transaction limits', () => {
    it('takes the rate of the summed amounts plus a fixed amount per event', () => {
      expect(price('percentage', { rate: '1.3', fixed_amount: '2' }, '800', EVENTS)).toEqual({
        amount: '18.4', // 800 × 1.3 % + 4 × 2
        units: '800',
        breakdown: [
          { description: 'free units', units: '0', amount: '0' },
          { description: '1.3 % of paid units', units: '800', amount: '10.4', rate: '1.3' },
          { description: 'fixed amount per paid event (4 of 4)', units: '4', amount: '8', perUnitAmount: '2' },
        ],
      });
    });

    it('treats a missing fixed_amount as 0', () => {
      expect(amountOf('percentage', { rate: '1.3' }, '800', EVENTS)).toBe('10.4');
    });

    it('frees the first N events: their amounts and their fixed amounts', () => {
      // free: 50 + 100 + 250 = 400; (800 − 400) × 1.3 % + 1 × 2 = 5.2 + 2
      expect(amountOf('percentage', { rate: '1.3', fixed_amount: '2', free_units_per_events: 3 }, '800', EVENTS)).toBe('7.2');
    });

    it('frees the first X of the summed amount; events summing strictly below X are free events', () => {
      // (800 − 250) × 1.3 % = 7.15; running totals below 250: 50, 150 → 2 free events; 2 × 2 = 4
      expect(
        price('percentage', { rate: '1.3', fixed_amount: '2', free_units_per_total_aggregation: '250' }, '800', EVENTS).breakdown,
      ).toEqual([
        { description: 'free units', units: '250', amount: '0' },
        { description: '1.3 % of paid units', units: '550', amount: '7.15', rate: '1.3' },
        { description: 'fixed amount per paid event (2 of 4)', units: '2', amount: '4', perUnitAmount: '2' },
      ]);
    });

    it('with both free settings, frees whichever is reached first (Lago spec values)', () => {
      const both = { rate: '1.3', fixed_amount: '2.0', free_units_per_events: 3 };
      // first 3 events sum to 400 > 250: 250 free; free events min(3, 2) = 2 → 7.15 + 4
      expect(amountOf('percentage', { ...both, free_units_per_total_aggregation: '250.0' }, '800', EVENTS)).toBe('11.15');
      // first 3 events sum to 400 ≤ 500: 400 free; free events min(3, 3) = 3 → 5.2 + 2
      expect(amountOf('percentage', { ...both, free_units_per_total_aggregation: '500.0' }, '800', EVENTS)).toBe('7.2');
    });

    it('counts an event that uses up exactly the last of the free amount as a paid event', () => {
      // running totals 50, 150, 350; free amount 150; only 50 is strictly below → 1 free event
      // (350 − 150) × 10 % + 2 × 1 = 20 + 2
      expect(amountOf('percentage', { rate: '10', fixed_amount: '1', free_units_per_total_aggregation: '150' }, '350', ['50', '100', '200'])).toBe(
        '22',
      );
    });

    it('costs nothing when there are more free events than events', () => {
      expect(amountOf('percentage', { rate: '1.3', fixed_amount: '2', free_units_per_events: 5 }, '400', ['100', '300'])).toBe('0');
    });

    it('costs nothing for zero units: no events, or only zero-amount events (no fixed amount either)', () => {
      expect(price('percentage', { rate: '1.3', fixed_amount: '2' }, '0', [])).toEqual({
        amount: '0',
        units: '0',
        breakdown: [
          { description: 'free units', units: '0', amount: '0' },
          { description: '1.3 % of paid units', units: '0', amount: '0', rate: '1.3' },
          { description: 'fixed amount per paid event (0 of 0)', units: '0', amount: '0', perUnitAmount: '2' },
        ],
      });
      expect(amountOf('percentage', { rate: '1.3', fixed_amount: '2' }, '0', ['0', '0'])).toBe('0');
    });

    it('is exact for tiny rates: 0.012 % of 1,000,001 = 120.00012', () => {
      expect(amountOf('percentage', { rate: '0.012' }, '1000001', ['1000001'])).toBe('120.00012');
    });

    it('keeps fractional amounts unrounded', () => {
      // 100.5 × 2.9 % = 2.9145; + 0.3 fixed
      expect(amountOf('percentage', { rate: '2.9', fixed_amount: '0.3' }, '100.5', ['100.5'])).toBe('3.2145');
    });
  });

  describe('with per-transaction minimum and maximum (Lago spec values)', () => {
    // Events 100, 1,000, 10,000 at 1 %: 1, 10, 100 before limits.
    const EVENTS_3 = ['100', '1000', '10000'];
    const LIMITS = { rate: '1', fixed_amount: '0', per_transaction_min_amount: '1.75', per_transaction_max_amount: '12' };

    it('clamps each transaction to [min, max]', () => {
      expect(price('percentage', LIMITS, '11100', EVENTS_3)).toEqual({
        amount: '23.75', // 1.75 (min) + 10 + 12 (max)
        units: '11100',
        breakdown: [
          { description: 'free units', units: '0', amount: '0' },
          { description: '1 % of paid units', units: '11100', amount: '111', rate: '1' },
          { description: 'fixed amount per paid event (3 of 3)', units: '3', amount: '0', perUnitAmount: '0' },
          { description: 'per-transaction minimum/maximum adjustment', units: '3', amount: '-87.25' },
        ],
      });
    });

    it('clamps after adding the fixed amount', () => {
      expect(amountOf('percentage', { ...LIMITS, fixed_amount: '1' }, '11100', EVENTS_3)).toBe('25'); // 2 + 11 + 12
    });

    it('charges free events nothing, not even the minimum', () => {
      expect(amountOf('percentage', { ...LIMITS, free_units_per_events: 2 }, '11100', EVENTS_3)).toBe('12'); // 0 + 0 + 12
    });

    it('takes the free amount off the first events', () => {
      // 100 free; 1,000 − 200 left free = 800 → 8; 10,000 → 12 (max)
      expect(amountOf('percentage', { ...LIMITS, free_units_per_total_aggregation: '300' }, '11100', EVENTS_3)).toBe('20');
    });

    it('with both free settings, keeps using the free amount past the free events', () => {
      // 100 and 1,000 free (8,900 left); 10,000 − 8,900 = 1,100 → 11
      expect(
        amountOf('percentage', { ...LIMITS, free_units_per_events: 3, free_units_per_total_aggregation: '10000' }, '11100', EVENTS_3),
      ).toBe('11');
    });

    it('applies only a minimum or only a maximum when only one is set', () => {
      expect(amountOf('percentage', { rate: '1', per_transaction_min_amount: '0.5' }, '30', ['10', '20'])).toBe('1'); // 0.1→0.5, 0.2→0.5
      expect(amountOf('percentage', { rate: '1', per_transaction_max_amount: '0.15' }, '30', ['10', '20'])).toBe('0.25'); // 0.1 + 0.15
    });

    it('treats blank limits as not set, as Lago does', () => {
      expect(amountOf('percentage', { rate: '1', per_transaction_min_amount: '', per_transaction_max_amount: null }, '30', ['10', '20'])).toBe('0.3');
    });

    it('charges an event that uses up exactly the last free amount the fixed amount, clamped to the minimum', () => {
      // 50 free (100 left); 100 − 100 = 0 → 0 + 1 → min 3; 200 → 20 + 1 = 21
      expect(
        amountOf(
          'percentage',
          { rate: '10', fixed_amount: '1', free_units_per_total_aggregation: '150', per_transaction_min_amount: '3' },
          '350',
          ['50', '100', '200'],
        ),
      ).toBe('24');
    });

    it('costs nothing without events', () => {
      expect(amountOf('percentage', LIMITS, '0', [])).toBe('0');
    });
  });

  describe('input', () => {
    it('needs the events only for properties that work event by event, and an event count for a fixed amount', () => {
      expect(() => priceCharge('percentage', { rate: '1', free_units_per_events: 2 }, { units: new Decimal(10) })).toThrow(
        new PricingError('events are required by the percentage charge model with free_units_per_events (one amount per event; units is their sum)'),
      );
      expect(() => priceCharge('percentage', { rate: '1', free_units_per_total_aggregation: '5', per_transaction_max_amount: '3' }, { units: new Decimal(10) })).toThrow(
        new PricingError('events are required by the percentage charge model with free_units_per_total_aggregation, per_transaction_max_amount (one amount per event; units is their sum)'),
      );
      expect(() => priceCharge('percentage', { rate: '1', fixed_amount: '0.3' }, { units: new Decimal(10) })).toThrow(
        new PricingError('eventCount (or events) is required by the percentage charge model with a fixed_amount, which is charged per event'),
      );
      expect(() => priceCharge('percentage', { rate: '1' }, { units: new Decimal(10), eventCount: 2.5 })).toThrow(
        new PricingError('eventCount must be a whole number of events, zero or more, got 2.5'),
      );
      expect(() => priceCharge('percentage', { rate: '1' }, { units: new Decimal(3), events: [new Decimal(3)], eventCount: 2 })).toThrow(
        new PricingError('eventCount (2) must equal the number of events (1)'),
      );
    });

    it('needs units to be the sum of the events', () => {
      expect(() => price('percentage', { rate: '1' }, '10', ['4', '5'])).toThrow(
        new PricingError('units (10) must equal the sum of events (9) for the percentage charge model'),
      );
    });

    it('refuses negative event amounts', () => {
      expect(() => price('percentage', { rate: '1' }, '5', ['10', '-5'])).toThrow(new PricingError('events[1] must not be negative, got "-5"'));
    });
  });
});
