import Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { priceProratedCharge, type ProratedEvent, prorateHolding } from './prorated-charge';
import { PricingDecimal } from './pricing-decimal';

const events = (full: string[], prorated: string[]): ProratedEvent[] =>
  full.map((units, i) => ({ units: new Decimal(units), proratedUnits: new Decimal(prorated[i]) }));

function amount(model: string, properties: unknown, full: string[], prorated: string[]): string {
  const result = priceProratedCharge(model, properties, events(full, prorated));
  const breakdownTotal = result.breakdown.reduce((t, line) => t.plus(line.amount), new PricingDecimal(0));
  expect(breakdownTotal.eq(result.amount)).toBe(true);
  return result.amount.toFixed();
}

// spec/services/charge_models/prorated_graduated_service_spec.rb: 0–5 at 10 + 100 flat, 6–∞ at 5 + 50
// flat; each case's per-event full and prorated units and Lago's expected amount (rounded to cents).
describe('prorated graduated (Lago ProratedGraduatedService)', () => {
  const ranges = {
    graduated_ranges: [
      { from_value: 0, to_value: 5, per_unit_amount: '10', flat_amount: '100' },
      { from_value: 6, to_value: null, per_unit_amount: '5', flat_amount: '50' },
    ],
  };
  const cents = (full: string[], prorated: string[]) => new Decimal(amount('graduated', ranges, full, prorated)).toFixed(2);

  it.each([
    ['returns expected amount', ['5', '5', '10', '-6'], ['3.5', '2.66667', '2', '-2.2'], '197.33'],
    ['event that cannot be fully placed into the range', ['2', '5', '10', '-6'], ['1.4', '2.66667', '2', '-2.2'], '184.33'],
    ['final number of units equals to zero', ['1', '4', '1', '-5', '-1'], ['0.7097', '1.54839', '0.2258', '-0.80645', '-0.0645'], '165.81'],
    ['negative event that results in changing range', ['5', '-2'], ['3.5', '-1'], '125.00'],
    ['overflow and changing ranges', ['4', '2', '-3'], ['2.8', '1', '-0.6'], '180.50'],
    ['multiple overflows in both directions', ['5', '2', '-4', '10'], ['3.5', '1', '-1.6', '2'], '190.00'],
    ['negative total (5, −100)', ['5', '-100'], ['2', '-33.33'], '0.00'],
    ['negative total, one range used (4, −100)', ['4', '-100'], ['1.6', '-33.33'], '0.00'],
  ])('%s', (_name, full, prorated, expected) => {
    expect(cents(full, prorated)).toBe(expected);
  });

  it('zero usage: the first range flat amount', () => {
    expect(amount('graduated', ranges, [], [])).toBe('100');
  });

  it('splits an event across a range bound by its full units: 5 seats above 2 put 3/5 in 0–5 and 2/5 in 6–∞', () => {
    const result = priceProratedCharge('graduated', ranges, events(['2', '5'], ['1', '2.5']));
    expect(result.breakdown.map((line) => [line.description, line.units.toFixed(), line.amount.toFixed()])).toEqual([
      ['range 1 (0–5), prorated units', '2.5', '125'], // 1 + 3 × 0.5, × 10, + 100
      ['range 2 (6–∞), prorated units', '1', '55'], // 2 × 0.5, × 5, + 50
    ]);
    expect(result.units.toFixed()).toBe('3.5');
  });

  it('like Lago, skips an addition with no prorated units (held before the period only)', () => {
    expect(amount('graduated', ranges, ['10', '2'], ['0', '1'])).toBe(amount('graduated', ranges, ['2'], ['1']));
  });
});

// spec/services/charge_models/volume_service_spec.rb "when charge is prorated": 198.6 prorated of 300
// full units land in 201–∞ (0.5 + 50 flat): 149.3.
describe('prorated volume (Lago VolumeService, number_of_units = full_units_number)', () => {
  const ranges = {
    volume_ranges: [
      { from_value: 0, to_value: 100, per_unit_amount: '2', flat_amount: '10' },
      { from_value: 101, to_value: 200, per_unit_amount: '1', flat_amount: '0' },
      { from_value: 201, to_value: null, per_unit_amount: '0.5', flat_amount: '50' },
    ],
  };

  it('matches the range on the full units and prices the prorated units, flat amount not prorated', () => {
    expect(amount('volume', ranges, ['300'], ['198.6'])).toBe('149.3');
    expect(amount('volume', ranges, ['250', '50'], ['150', '48.6'])).toBe('149.3');
  });

  it('charges a negative holding 0', () => {
    expect(amount('volume', ranges, ['5', '-10'], ['5', '-2'])).toBe('0');
  });
});

describe('prorated standard', () => {
  it('prices the prorated units: 10 seats held 15 of 30 days are 5 units, at 3 = 15', () => {
    expect(amount('standard', { amount: '3' }, ['10'], ['5'])).toBe('15');
    expect(amount('standard', { amount: '3' }, ['10', '-10'], ['10', '-5'])).toBe('15');
  });

  it('charges negative prorated units 0', () => {
    expect(amount('standard', { amount: '3' }, ['10', '-10'], ['1', '-5'])).toBe('0');
  });
});

describe('priceProratedCharge input', () => {
  it('takes standard, graduated and volume only (Lago Charge#validate_prorated)', () => {
    expect(() => priceProratedCharge('package', { amount: '1', package_size: 10, free_units: 0 }, [])).toThrow(
      new PricingError('prorated charges use the standard, graduated, volume models (as in Lago), got "package"'),
    );
  });

  it('refuses prorated units beyond the full units or of the other sign, and non-Decimals', () => {
    expect(() => priceProratedCharge('standard', { amount: '1' }, events(['5'], ['6']))).toThrow(
      new PricingError('events[0].proratedUnits (6) must lie between 0 and units (5)'),
    );
    expect(() => priceProratedCharge('standard', { amount: '1' }, events(['-5'], ['1']))).toThrow(
      new PricingError('events[0].proratedUnits (1) must lie between 0 and units (-5)'),
    );
    expect(() => priceProratedCharge('standard', { amount: '1' }, [{ units: '5' as unknown as Decimal, proratedUnits: new Decimal(1) }])).toThrow(
      new PricingError('events[0].units must be a finite Decimal'),
    );
  });
});

// Lago's day counting: Events::Stores::PostgresStore#duration_ratio_sql (sum: DATE(period end) −
// DATE(event) + 1) and Postgres::UniqueCountQuery#period_ratio_sql (unique count: DATE(removal + 1 day)
// − DATE(addition)), in the customer's time zone, over the period's days.
describe('prorateHolding', () => {
  const april = { start: '2025-04-01T00:00:00Z', end: '2025-05-01T00:00:00Z' };
  const prorated = (holding: { units: string; from: string; to?: string }, period: { start: string; end: string; timeZone?: string } = april) =>
    prorateHolding(holding, period).proratedUnits.toFixed();

  it('counts the days held, both ends included, over the days of the period', () => {
    expect(prorated({ units: '30', from: '2025-04-01T00:00:00Z' })).toBe('30'); // the whole period
    expect(prorated({ units: '30', from: '2025-04-30T23:00:00Z' })).toBe('1'); // added on the last day
    expect(prorated({ units: '30', from: '2025-04-16T09:00:00Z' })).toBe('15'); // 16th–30th
    expect(prorated({ units: '30', from: '2025-04-05T12:00:00Z', to: '2025-04-10T08:00:00Z' })).toBe('6'); // 5th–10th
    expect(prorated({ units: '30', from: '2025-04-05T12:00:00Z', to: '2025-04-05T13:00:00Z' })).toBe('1'); // same day
  });

  it('clips to the period: held from before it counts from its start, removed before it counts 0', () => {
    expect(prorated({ units: '3', from: '2025-02-01T00:00:00Z' })).toBe('3');
    expect(prorated({ units: '3', from: '2025-02-01T00:00:00Z', to: '2025-04-15T10:00:00Z' })).toBe('1.5');
    expect(prorated({ units: '3', from: '2025-02-01T00:00:00Z', to: '2025-03-20T00:00:00Z' })).toBe('0');
    expect(prorated({ units: '3', from: '2025-05-02T00:00:00Z' })).toBe('0');
  });

  it('prorates a removal of a sum metric the same way (negative units)', () => {
    expect(prorated({ units: '-30', from: '2025-04-21T00:00:00Z' })).toBe('-10');
  });

  it("counts the customer's local days", () => {
    // 2025-04-30T20:00Z is already May 1st in Shanghai, outside a Shanghai April.
    const shanghaiApril = { start: '2025-03-31T16:00:00Z', end: '2025-04-30T16:00:00Z', timeZone: 'Asia/Shanghai' };
    expect(prorated({ units: '30', from: '2025-03-31T17:00:00Z' }, shanghaiApril)).toBe('30');
    expect(prorated({ units: '30', from: '2025-04-30T15:00:00Z' }, shanghaiApril)).toBe('1');
    expect(prorated({ units: '30', from: '2025-04-30T20:00:00Z' }, shanghaiApril)).toBe('0');
  });

  it('refuses a removal before the addition and an empty period', () => {
    expect(() => prorateHolding({ units: '1', from: '2025-04-10T00:00:00Z', to: '2025-04-09T00:00:00Z' }, april)).toThrow(new PricingError('to must not be before from'));
    expect(() => prorateHolding({ units: '1', from: '2025-04-10T00:00:00Z' }, { start: april.end, end: april.start })).toThrow(
      new PricingError('period.end must be after period.start'),
    );
  });
});
