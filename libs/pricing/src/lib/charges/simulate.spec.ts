import { simulateJsonLine, simulateLine } from './simulate';

const GRADUATED = {
  graduated_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '10' },
    { from_value: 101, to_value: null, per_unit_amount: '0.5', flat_amount: '5' },
  ],
};

describe('simulateLine', () => {
  it('prices a request and formats amount and units as plain, unrounded decimal strings', () => {
    expect(simulateLine({ model: 'graduated', properties: GRADUATED, units: '100.5' })).toEqual({ amount: '115.25', units: '100.5' });
    expect(simulateLine({ model: 'standard', properties: { amount: '0.00012' }, units: '1000001' })).toEqual({ amount: '120.00012', units: '1000001' });
  });

  it('never writes exponent notation', () => {
    expect(simulateLine({ model: 'standard', properties: { amount: '1e-7' }, units: '1e-7' })).toEqual({
      amount: '0.00000000000001',
      units: '0.0000001',
    });
    expect(simulateLine({ model: 'standard', properties: { amount: '3' }, units: '1e25' })).toEqual({
      amount: '30000000000000000000000000',
      units: '10000000000000000000000000',
    });
  });

  it('accepts numbers for units without binary-float artefacts', () => {
    expect(simulateLine({ model: 'standard', properties: { amount: 0.1 }, units: 3 })).toEqual({ amount: '0.3', units: '3' });
  });

  it('takes the sum of the events as units when units are left out', () => {
    expect(simulateLine({ model: 'percentage', properties: { rate: '2', fixed_amount: '0.25' }, events: ['12.50', 30, '7.5'] })).toEqual({
      amount: '1.75', // 50 × 2 % + 3 × 0.25
      units: '50',
    });
    expect(simulateLine({ model: 'standard', properties: { amount: '2' }, events: ['1', '1', '1'] })).toEqual({ amount: '6', units: '3' });
  });

  it('prices a negative quantity as zero units and shows it', () => {
    expect(simulateLine({ model: 'standard', properties: { amount: '1' }, units: '-1' })).toEqual({ amount: '0', units: '-1' });
  });

  it('reports what is wrong instead of an amount', () => {
    expect(simulateLine({ model: 'standard', properties: { amount: '1' } })).toEqual({ error: 'units is required (or events, whose sum is then the units)' });
    expect(simulateLine({ properties: {}, units: '1' })).toEqual({ error: 'model is required' });
    expect(simulateLine({ model: 7, properties: {}, units: '1' })).toEqual({ error: 'model must be a string, got 7' });
    expect(simulateLine({ model: 'standard', properties: { amount: '1' }, units: 'lots' })).toEqual({
      error: 'units must be a decimal string or a number, got "lots"',
    });
    expect(simulateLine({ model: 'standard', properties: { amount: '1' }, unit: '1' })).toEqual({
      error: 'unknown field "unit" (expected model, properties, units, events, eventCount, amounts)',
    });
    expect(simulateLine({ model: 'percentage', properties: { rate: '1', free_units_per_events: 1 }, units: '5' })).toEqual({
      error: 'events are required by the percentage charge model with free_units_per_events (one amount per event; units is their sum)',
    });
    expect(simulateLine({ model: 'percentage', properties: { rate: '1' }, units: '5', events: ['1', '2'] })).toEqual({
      error: 'units (5) must equal the sum of events (3) for the percentage charge model',
    });
    expect(simulateLine({ model: 'percentage', properties: { rate: '1' }, events: '1,2' })).toEqual({
      error: 'events must be an array of decimal strings or numbers, got "1,2"',
    });
    expect(simulateLine({ model: 'percentage', properties: { rate: '1' }, events: ['1', 'x'] })).toEqual({
      error: 'events[1] must be a decimal string or a number, got "x"',
    });
    const adjacent = {
      graduated_ranges: [
        { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '0' },
        { from_value: 99, to_value: null, per_unit_amount: '1', flat_amount: '0' },
      ],
    };
    expect(simulateLine({ model: 'graduated', properties: adjacent, units: '1' })).toEqual({
      error: 'graduated_ranges[1].from_value must equal the previous to_value (100, adjacent ranges) or the previous to_value + 1 (101, inclusive ranges), got 99',
    });
    expect(simulateLine([1, 2])).toEqual({
      error: 'expected a JSON object like {"model": "standard", "properties": {"amount": "0.5"}, "units": "10"}, got [1,2]',
    });
    expect(simulateLine(null)).toEqual({
      error: 'expected a JSON object like {"model": "standard", "properties": {"amount": "0.5"}, "units": "10"}, got null',
    });
  });
});

describe('simulateJsonLine', () => {
  it('skips blank lines', () => {
    expect(simulateJsonLine('')).toBeNull();
    expect(simulateJsonLine('   \t')).toBeNull();
  });

  it('prices a JSON line', () => {
    expect(simulateJsonLine('{"model": "standard", "properties": {"amount": "2.5"}, "units": "4"}')).toEqual({ amount: '10', units: '4' });
  });

  it('reports invalid JSON as an error', () => {
    const result = simulateJsonLine('{"model": ');
    expect(result).toEqual({ error: expect.stringMatching(/^invalid JSON: /) });
  });
});
