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

describe('plan alert thresholds', () => {
  const parsedCharge = (charge: Record<string, unknown>) => {
    const result = planDefinitionSchema.safeParse(plan({}, { includedUnits: '1000', ...charge }));
    if (!result.success) throw new Error(JSON.stringify(result.error.issues));
    return result.data.charges[0];
  };

  it('accepts exact decimal percentages as numbers or decimal strings and keeps them as written (never rounded)', () => {
    expect(parsedCharge({ thresholds: [33.3, 0.4, '66.65', 100, 150, '0.0000000001', 1000] }).thresholds).toEqual([33.3, 0.4, '66.65', 100, 150, '0.0000000001', 1000]);
    expect(parsedCharge({ thresholds: [] }).thresholds).toEqual([]);
    expect(parsedCharge({}).thresholds).toBeUndefined();
  });

  it('refuses percentages that are not positive, finite, plain decimals up to 1000 with at most 10 decimals', () => {
    const refused: unknown[] = [0, '0', '0.000', -5, '-5', 1000.0001, '1000.5', 2_147_483_648, NaN, Infinity, -Infinity, '1e999', '1e2', ' 33.3', '33.3 ', '33 .3', '3 3', '', '.5', '5.', '+5',
      '0x10', '1,5', '١٢', '0.00000000001', 1e-11, `1${'0'.repeat(50)}`, null, true, [33], { p: 33 }];
    for (const t of refused) {
      const found = issues(plan({}, { includedUnits: '1000', thresholds: [50, t] }));
      expect(found.length).toBeGreaterThan(0);
      expect(found.every(([pointer]) => pointer === '/charges/0/thresholds/1')).toBe(true);
    }
    expect(issues(plan({}, { includedUnits: '1000', thresholds: [0] }))).toEqual([['/charges/0/thresholds/0', 'must be greater than 0']]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: ['1e999'] }))).toEqual([['/charges/0/thresholds/0', 'must be a decimal like 33.3 or "33.3"']]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: [Infinity] }))).toEqual([['/charges/0/thresholds/0', 'must be a finite number']]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: ['1000.5'] }))).toEqual([['/charges/0/thresholds/0', 'must be at most 1000, got 1000.5']]);
  });

  it('refuses a percentage written twice, in any spelling', () => {
    expect(issues(plan({}, { includedUnits: '1000', thresholds: [50, 50] }))).toEqual([['/charges/0/thresholds', 'must not repeat a percentage (50)']]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: [33.3, '33.30'] }))).toEqual([['/charges/0/thresholds', 'must not repeat a percentage (33.3)']]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: ['0.4', 0.4, '0.40'] })).map(([p]) => p)).toEqual(['/charges/0/thresholds', '/charges/0/thresholds']);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: [33.3, 33.31] }))).toEqual([]);
  });

  it('refuses more than 20 thresholds with one issue, without looking at each element of a huge list', () => {
    expect(issues(plan({}, { includedUnits: '1000', thresholds: Array.from({ length: 20 }, (_, i) => i + 0.5) }))).toEqual([]);
    expect(issues(plan({}, { includedUnits: '1000', thresholds: Array.from({ length: 21 }, (_, i) => i + 1) }))).toEqual([['/charges/0/thresholds', 'Array must contain at most 20 element(s)']]);
    const huge = Array.from({ length: 200_000 }, () => 'not a number');
    expect(issues(plan({}, { includedUnits: '1000', thresholds: huge }))).toEqual([['/charges/0/thresholds', 'Array must contain at most 20 element(s)']]);
  });

  it('refuses percentages and a hard limit on a charge without included units (a share of nothing fires at once)', () => {
    expect(issues(plan({}, { thresholds: [50] }))).toEqual([['/charges/0/thresholds', 'are percentages of includedUnits, which the charge does not set']]);
    expect(issues(plan({}, { hardLimit: true }))).toEqual([['/charges/0/hardLimit', 'applies at 100 % of includedUnits, which the charge does not set']]);
    expect(issues(plan({}, { thresholds: [], hardLimit: false }))).toEqual([]);
    expect(issues(plan({}, { includedUnits: '0', thresholds: [50], hardLimit: true }))).toEqual([]);
  });

  it('accepts absolute, spend and step alerts as positive decimal strings, with or without included units', () => {
    const alerts = { absolute: ['5000', '12000.5'], spend: ['100', '0.01'], stepUnits: '1000', stepSpend: '250.5' };
    expect(parsedCharge({ alerts }).alerts).toEqual(alerts);
    expect(issues(plan({}, { alerts: { spend: ['10'] } }))).toEqual([]);
    expect(issues(plan({}, { alerts: {} }))).toEqual([]);
  });

  it('refuses alert amounts that are not positive bounded decimal strings, naming each', () => {
    const bad: unknown[] = ['0', '-1', '1e3', ' 10', '10 ', 'NaN', 'Infinity', '', 10, NaN, null, `0.${'0'.repeat(20)}1`, '1000000000000000.1'];
    for (const v of bad) {
      expect(issues(plan({}, { alerts: { absolute: ['1', v] } })).map(([p]) => p)).toEqual(['/charges/0/alerts/absolute/1']);
      expect(issues(plan({}, { alerts: { stepUnits: v } })).map(([p]) => p)).toEqual(['/charges/0/alerts/stepUnits']);
    }
    expect(issues(plan({}, { alerts: { spend: ['1000000000000.01'] } }))).toEqual([['/charges/0/alerts/spend/0', 'must be at most 1000000000000, got 1000000000000.01']]);
    expect(issues(plan({}, { alerts: { stepSpend: '1000000000001' } }))[0][0]).toBe('/charges/0/alerts/stepSpend');
    // Units may go up to 10^15, money only to 10^12.
    expect(issues(plan({}, { alerts: { absolute: ['1000000000000000'] } }))).toEqual([]);
    expect(issues(plan({}, { alerts: { stepSpend: '0' } }))).toEqual([['/charges/0/alerts/stepSpend', 'must be greater than 0']]);
  });

  it('refuses repeated alert amounts, too many of them, and unknown alert settings', () => {
    expect(issues(plan({}, { alerts: { spend: ['100', '100.00'] } }))).toEqual([['/charges/0/alerts/spend', 'must not repeat an amount (100)']]);
    expect(issues(plan({}, { alerts: { absolute: Array.from({ length: 21 }, (_, i) => String(i + 1)) } }))[0][0]).toBe('/charges/0/alerts/absolute');
    expect(issues(plan({}, { alerts: { spend: '100' } }))[0][0]).toBe('/charges/0/alerts/spend');
    expect(issues(plan({}, { alerts: { stepEvery: '5' } }))[0]).toEqual(['/charges/0/alerts', "Unrecognized key(s) in object: 'stepEvery'"]);
  });
});

describe('dynamic charges (amount from an amount meter)', () => {
  const dynamic = (properties: Record<string, unknown> = { amount_meter: 'llm-cost' }, extra: Record<string, unknown> = {}) => ({ model: 'dynamic', properties, ...extra });

  it('accepts a dynamic charge naming the meter that sums the amounts, with usage alerts', () => {
    expect(issues(plan({}, dynamic()))).toEqual([]);
    expect(issues(plan({}, dynamic({ amount_meter: 'llm-cost' }, { alerts: { absolute: ['1000'], stepUnits: '500' } })))).toEqual([]);
    // Two dynamic charges, each with its own amount meter.
    expect(issues(plan({ charges: [{ meter: 'tokens-in', ...dynamic({ amount_meter: 'cost-in' }) }, { meter: 'tokens-out', ...dynamic({ amount_meter: 'cost-out' }) }] }))).toEqual([]);
  });

  it('refuses a dynamic charge without an amount meter, or with one that is not a meter slug', () => {
    const pointer = '/charges/0/properties/amount_meter';
    expect(issues(plan({}, dynamic({})))).toEqual([[pointer, 'is required: the meter that sums the amounts the events carry (e.g. a SUM over $.precise_total_amount)']]);
    for (const bad of ['', 42, null, ['llm-cost'], { slug: 'llm-cost' }, 'x'.repeat(201)]) {
      expect(issues(plan({}, dynamic({ amount_meter: bad })))).toEqual([[pointer, 'must be a meter slug of 1 to 200 characters']]);
    }
  });

  it('refuses an amount meter that is the charge\'s own meter (units and amounts would be the same number)', () => {
    expect(issues(plan({}, dynamic({ amount_meter: 'api-calls' })))).toEqual([['/charges/0/properties/amount_meter', 'must differ from the charge\'s meter "api-calls", which counts its units']]);
  });

  it('refuses an amount meter that another charge bills or that another dynamic charge already uses (billed twice)', () => {
    const charged = plan({ charges: [{ meter: 'tokens', ...dynamic({ amount_meter: 'llm-cost' }) }, { meter: 'llm-cost', model: 'standard', properties: { amount: '1' } }] });
    expect(issues(charged)).toEqual([['/charges/0/properties/amount_meter', 'meter "llm-cost" is charged by another charge of the plan: its amounts would be billed twice']]);
    const shared = plan({ charges: [{ meter: 'tokens-in', ...dynamic() }, { meter: 'tokens-out', ...dynamic() }] });
    expect(issues(shared)).toEqual([['/charges/1/properties/amount_meter', 'meter "llm-cost" is already the amount meter of charge 0: its amounts would be billed twice']]);
  });

  it('refuses included units and spend alerts on a dynamic charge', () => {
    expect(issues(plan({}, dynamic(undefined, { includedUnits: '100' })))).toEqual([['/charges/0/includedUnits', "cannot be set on a dynamic charge: it bills the events' amounts, not a price per unit"]]);
    expect(issues(plan({}, dynamic(undefined, { alerts: { spend: ['5'], stepSpend: '10' } })))).toEqual([
      ['/charges/0/alerts/spend', "cannot be set on a dynamic charge: threshold-alerting does not see the amount meter's usage"],
      ['/charges/0/alerts/stepSpend', "cannot be set on a dynamic charge: threshold-alerting does not see the amount meter's usage"],
    ]);
  });

  it('still refuses the percentage properties period usage cannot feed', () => {
    expect(issues(plan({}, { model: 'percentage', properties: { rate: '1', fixed_amount: '0.5' } }))).toEqual([
      ['/charges/0/properties', 'fixed_amount is charged per event, so it needs the number of events, which period usage does not carry'],
    ]);
  });
});

describe('prorated charges (Lago\'s prorated: true)', () => {
  it('accepts prorated standard and volume charges, and prorated: false anywhere', () => {
    expect(issues(plan({}, { meter: 'seats', prorated: true }))).toEqual([]);
    const volume = { volume_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '3', flat_amount: '0' }, { from_value: 11, to_value: null, per_unit_amount: '2', flat_amount: '5' }] };
    expect(issues(plan({}, { meter: 'seats', model: 'volume', properties: volume, prorated: true, alerts: { absolute: ['50'] } }))).toEqual([]);
    expect(issues(plan({}, { model: 'package', properties: { amount: '1', package_size: 10, free_units: 0 }, prorated: false }))).toEqual([]);
    expect(planDefinitionSchema.parse(plan({}, { prorated: true })).charges[0].prorated).toBe(true);
  });

  it('refuses prorated graduated charges, naming Lago\'s ProratedGraduatedService', () => {
    const graduated = { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '0' }] };
    const found = issues(plan({}, { model: 'graduated', properties: graduated, prorated: true }));
    expect(found).toHaveLength(1);
    expect(found[0][0]).toBe('/charges/0/prorated');
    expect(found[0][1]).toMatch(/ProratedGraduatedService.*running sum of units in event order/);
  });

  it.each([
    ['package', { amount: '1', package_size: 10, free_units: 0 }],
    ['percentage', { rate: '1' }],
    ['graduated_percentage', { graduated_percentage_ranges: [{ from_value: 0, to_value: null, rate: '1', flat_amount: '0' }] }],
    ['dynamic', { amount_meter: 'llm-cost' }],
  ])('refuses a prorated %s charge', (model, properties) => {
    expect(issues(plan({}, { model, properties, prorated: true }))).toContainEqual([
      '/charges/0/prorated',
      `cannot be set on a ${model} charge: Lago prorates only standard, graduated and volume charges, and billing feeds standard and volume`,
    ]);
  });

  it('refuses included units and spend alerts on a prorated charge, and a prorated flag that is not a boolean', () => {
    expect(issues(plan({}, { prorated: true, includedUnits: '5', alerts: { spend: ['5'], stepSpend: '1' } })).map(([p]) => p)).toEqual([
      '/charges/0/includedUnits',
      '/charges/0/alerts/spend',
      '/charges/0/alerts/stepSpend',
    ]);
    for (const odd of ['true', 1, null]) expect(issues(plan({}, { prorated: odd })).map(([p]) => p)).toEqual(['/charges/0/prorated']);
  });
});
