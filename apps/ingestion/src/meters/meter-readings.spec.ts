import type { Aggregation } from '@tally/contracts';
import { extractReadings, type MeterRule } from './meter-readings';

const meter = (slug: string, aggregation: Aggregation, valueProperty: string | null, over: Partial<MeterRule> = {}): MeterRule => ({
  slug,
  eventType: 'llm.completion',
  aggregation,
  valueProperty,
  groupBy: {},
  ...over,
});

describe('extractReadings', () => {
  it('gives a COUNT meter a null value, whatever the data', () => {
    expect(extractReadings([meter('calls', 'COUNT', null)], 'llm.completion', {})).toEqual({
      ok: true,
      readings: [{ meter: 'calls', aggregation: 'COUNT', value: null, groupBy: {} }],
    });
    // A value property on a COUNT meter is not read, so a non-numeric value there is no error.
    expect(extractReadings([meter('calls', 'COUNT', '$.data.x')], 'llm.completion', { x: 'not a number' })).toEqual({
      ok: true,
      readings: [{ meter: 'calls', aggregation: 'COUNT', value: null, groupBy: {} }],
    });
  });

  describe('numeric meters', () => {
    it('reads a JSON number as its decimal string', () => {
      expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: 12.5 })).toEqual({
        ok: true,
        readings: [{ meter: 'tokens', aggregation: 'SUM', value: '12.5', groupBy: {} }],
      });
    });

    it('reads a numeric string trimmed, keeping its exact digits', () => {
      const result = extractReadings(
        [meter('a', 'SUM', '$.data.a'), meter('b', 'SUM', '$.data.b'), meter('c', 'SUM', '$.data.c')],
        'llm.completion',
        { a: ' 42.75 ', b: '123456789012345678901234567890.000000001', c: '-3' },
      );
      expect(result).toEqual({
        ok: true,
        readings: [
          { meter: 'a', aggregation: 'SUM', value: '42.75', groupBy: {} },
          { meter: 'b', aggregation: 'SUM', value: '123456789012345678901234567890.000000001', groupBy: {} },
          { meter: 'c', aggregation: 'SUM', value: '-3', groupBy: {} },
        ],
      });
    });

    it('reads 0 as a value, not as missing', () => {
      expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: 0 })).toEqual({
        ok: true,
        readings: [{ meter: 'tokens', aggregation: 'SUM', value: '0', groupBy: {} }],
      });
    });

    it.each<Aggregation>(['MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'])('reads %s like SUM', (aggregation) => {
      expect(extractReadings([meter('m', aggregation, '$.data.v')], 'llm.completion', { v: '7.5' })).toEqual({
        ok: true,
        readings: [{ meter: 'm', aggregation, value: '7.5', groupBy: {} }],
      });
    });

    it('accepts the value property with or without the $.data prefix, and bracket keys', () => {
      const data = { usage: { 'tokens-in': 3, out: [5, 8] } };
      const result = extractReadings(
        [
          meter('a', 'SUM', "$.data.usage['tokens-in']"),
          meter('b', 'SUM', '$.usage.out[1]'),
          meter('c', 'MAX', "$.data['usage'].out[0]"),
        ],
        'llm.completion',
        data,
      );
      expect(result).toEqual({
        ok: true,
        readings: [
          { meter: 'a', aggregation: 'SUM', value: '3', groupBy: {} },
          { meter: 'b', aggregation: 'SUM', value: '8', groupBy: {} },
          { meter: 'c', aggregation: 'MAX', value: '5', groupBy: {} },
        ],
      });
    });

    it('rejects a missing value, naming the meter and the path', () => {
      expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { other: 1 })).toEqual({
        ok: false,
        errors: ['data: meter "tokens" needs a number at $.data.tokens'],
      });
    });

    it.each<[string, unknown]>([
      ['a word', 'abc'],
      ['trailing garbage', '12abc'],
      ['exponent notation in a string', '1e3'],
      ['an empty string', ''],
      ['a lone dot', '.5'],
      ['a boolean', true],
      ['null', null],
      ['an object', { n: 1 }],
      ['an array', [1]],
      ['NaN', NaN],
      ['Infinity', Infinity],
    ])('rejects %s as a value', (_what, value) => {
      expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: value })).toEqual({
        ok: false,
        errors: ['data: meter "tokens" needs a number at $.data.tokens'],
      });
    });

    it('rejects a numeric meter without a value property', () => {
      const result = extractReadings([meter('tokens', 'SUM', null)], 'llm.completion', { tokens: 5 });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.errors).toEqual([expect.stringContaining('meter "tokens" needs a number')]);
    });
  });

  describe('UNIQUE_COUNT', () => {
    it('reads strings and numbers as strings', () => {
      const result = extractReadings(
        [meter('users', 'UNIQUE_COUNT', '$.data.user'), meter('orgs', 'UNIQUE_COUNT', '$.data.org')],
        'llm.completion',
        { user: 'u-1', org: 42 },
      );
      expect(result).toEqual({
        ok: true,
        readings: [
          { meter: 'users', aggregation: 'UNIQUE_COUNT', value: 'u-1', groupBy: {} },
          { meter: 'orgs', aggregation: 'UNIQUE_COUNT', value: '42', groupBy: {} },
        ],
      });
    });

    it.each<[string, unknown]>([
      ['an object', { id: 'u-1' }],
      ['an array', ['u-1']],
      ['null', null],
      ['a missing value', undefined],
    ])('rejects %s, naming the meter', (_what, value) => {
      const data = value === undefined ? {} : { user: value };
      expect(extractReadings([meter('users', 'UNIQUE_COUNT', '$.data.user')], 'llm.completion', data)).toEqual({
        ok: false,
        errors: ['data: meter "users" needs a string or number at $.data.user'],
      });
    });
  });

  it('extracts group-by values as strings, skipping missing and null ones', () => {
    const rule = meter('tokens', 'SUM', '$.data.tokens', {
      groupBy: {
        model: '$.data.model',
        tier: '$.data.plan.tier',
        region: '$.region',
        batch: '$.data.batch',
        stream: '$.data.stream',
        missing: '$.data.nope',
        nothing: '$.data.nothing',
      },
    });
    const data = { tokens: 10, model: 'gpt-x', plan: { tier: 'pro' }, region: 'eu', batch: 3, stream: false, nothing: null };
    expect(extractReadings([rule], 'llm.completion', data)).toEqual({
      ok: true,
      readings: [
        { meter: 'tokens', aggregation: 'SUM', value: '10', groupBy: { model: 'gpt-x', tier: 'pro', region: 'eu', batch: '3', stream: 'false' } },
      ],
    });
  });

  it('extracts group-by values for COUNT and UNIQUE_COUNT meters too', () => {
    const groupBy = { model: '$.data.model' };
    const result = extractReadings(
      [meter('calls', 'COUNT', null, { groupBy }), meter('users', 'UNIQUE_COUNT', '$.data.user', { groupBy })],
      'llm.completion',
      { model: 'm1', user: 'u' },
    );
    expect(result).toEqual({
      ok: true,
      readings: [
        { meter: 'calls', aggregation: 'COUNT', value: null, groupBy: { model: 'm1' } },
        { meter: 'users', aggregation: 'UNIQUE_COUNT', value: 'u', groupBy: { model: 'm1' } },
      ],
    });
  });

  it('ignores meters of other event types', () => {
    const meters = [
      meter('calls', 'COUNT', null, { eventType: 'api.call' }),
      meter('tokens', 'SUM', '$.data.tokens'),
      // Would fail on this data, but belongs to another type.
      meter('bytes', 'SUM', '$.data.bytes', { eventType: 'storage.write' }),
    ];
    expect(extractReadings(meters, 'llm.completion', { tokens: 5 })).toEqual({
      ok: true,
      readings: [{ meter: 'tokens', aggregation: 'SUM', value: '5', groupBy: {} }],
    });
    expect(extractReadings(meters, 'unknown.type', { tokens: 5 })).toEqual({ ok: true, readings: [] });
    expect(extractReadings([], 'llm.completion', {})).toEqual({ ok: true, readings: [] });
  });

  it('reports every bad meter at once and returns no readings', () => {
    const meters = [
      meter('calls', 'COUNT', null),
      meter('tokens', 'SUM', '$.data.tokens'),
      meter('users', 'UNIQUE_COUNT', '$.data.user'),
      meter('latency', 'AVG', '$.data.ms'),
    ];
    expect(extractReadings(meters, 'llm.completion', { tokens: 'many', user: { id: 1 }, ms: 120 })).toEqual({
      ok: false,
      errors: ['data: meter "tokens" needs a number at $.data.tokens', 'data: meter "users" needs a string or number at $.data.user'],
    });
  });

  it('does not take inherited properties for event data', () => {
    expect(extractReadings([meter('users', 'UNIQUE_COUNT', '$.data.constructor')], 'llm.completion', {})).toEqual({
      ok: false,
      errors: ['data: meter "users" needs a string or number at $.data.constructor'],
    });
  });
});
