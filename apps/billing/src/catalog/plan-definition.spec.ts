import { planDefinitionSchema } from './plan-definition';

const plan = (overrides: Record<string, unknown> = {}, charge: Record<string, unknown> = {}) => ({
  code: 'pro',
  name: 'Pro',
  interval: 'monthly',
  currency: 'EUR',
  charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, ...charge }],
  ...overrides,
});

/** The 400's pointers and messages, as parseOrProblem would report them. */
function issues(input: unknown): Array<[string, string]> {
  const result = planDefinitionSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => [`/${i.path.join('/')}`, i.message]);
}

describe('plan definition bounds', () => {
  it('accepts a realistic plan, tiny unit prices included', () => {
    expect(issues(plan({ baseFee: '49', minimumCommitment: '100', freeTier: '2' }, { includedUnits: '500', thresholds: [50, 75, 90, 100, 150], properties: { amount: '0.00000012' } }))).toEqual([]);
  });

  it('refuses thresholds that are not whole percentages in 1..1000 (threshold-alerting stores int)', () => {
    expect(issues(plan({}, { thresholds: [50.5] }))).toEqual([['/charges/0/thresholds/0', 'must be a whole percentage']]);
    expect(issues(plan({}, { thresholds: [2_147_483_648] }))[0][0]).toBe('/charges/0/thresholds/0');
    expect(issues(plan({}, { thresholds: [0] }))[0][0]).toBe('/charges/0/thresholds/0');
    expect(issues(plan({}, { thresholds: [50, 50] }))).toEqual([['/charges/0/thresholds', 'must not repeat a percentage']]);
    expect(issues(plan({}, { thresholds: Array.from({ length: 21 }, (_, i) => i + 1) }))[0][0]).toBe('/charges/0/thresholds');
  });

  it('refuses amounts above 1,000,000,000,000 or with more than 20 decimal places, naming the field', () => {
    expect(issues(plan({ baseFee: '1000000000000.01' }))).toEqual([['/baseFee', 'must be at most 1000000000000, got 1000000000000.01']]);
    expect(issues(plan({ minimumCommitment: `1${'0'.repeat(40)}` }))[0][0]).toBe('/minimumCommitment');
    expect(issues(plan({ freeTier: '-1' }))).toEqual([['/freeTier', 'must not be negative']]);
    expect(issues(plan({}, { properties: { amount: '1e13' } }))).toEqual([['/charges/0/properties/amount', 'must be at most 1000000000000, got 10000000000000']]);
    expect(issues(plan({}, { properties: { amount: `0.${'0'.repeat(20)}1` } }))).toEqual([['/charges/0/properties/amount', 'must have at most 20 decimal places, got 21']]);
  });

  it('refuses tier bounds, package sizes and included units above 10^15', () => {
    const ranges = [
      { from_value: 0, to_value: '10000000000000000', per_unit_amount: '1', flat_amount: '0' },
      { from_value: '10000000000000001', to_value: null, per_unit_amount: '1', flat_amount: '1e20' },
    ];
    expect(issues(plan({}, { model: 'graduated', properties: { graduated_ranges: ranges } })).map(([p]) => p)).toEqual([
      '/charges/0/properties/graduated_ranges/0/to_value',
      '/charges/0/properties/graduated_ranges/1/from_value',
      '/charges/0/properties/graduated_ranges/1/flat_amount',
    ]);
    expect(issues(plan({}, { model: 'package', properties: { amount: '5', package_size: 1e18, free_units: 0 } }))).toEqual([
      ['/charges/0/properties/package_size', 'must be at most 1000000000000000, got 1000000000000000000'],
    ]);
    expect(issues(plan({}, { includedUnits: '1000000000000001' }))).toEqual([['/charges/0/includedUnits', 'must be at most 1000000000000000, got 1000000000000001']]);
  });

  it('refuses percentage rates above 100', () => {
    const ranges = [{ from_value: 0, to_value: null, rate: '100.5', flat_amount: '0' }];
    expect(issues(plan({}, { model: 'graduated_percentage', properties: { graduated_percentage_ranges: ranges } }))).toEqual([
      ['/charges/0/properties/graduated_percentage_ranges/0/rate', 'must be at most 100, got 100.5'],
    ]);
  });

  it('bounds names and the number of charges', () => {
    expect(issues(plan({ name: 'x'.repeat(201) }))[0][0]).toBe('/name');
    expect(issues(plan({}, { meter: 'm'.repeat(201) }))[0][0]).toBe('/charges/0/meter');
    const many = Array.from({ length: 101 }, (_, i) => ({ meter: `m${i}`, model: 'standard', properties: { amount: '1' } }));
    expect(issues(plan({ charges: many }))[0][0]).toBe('/charges');
  });
});
