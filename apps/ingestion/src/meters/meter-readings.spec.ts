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
        [meter('a', 'SUM', '$.data.a'), meter('b', 'SUM', '$.data.b'), meter('c', 'SUM', '$.data.c', { allowNegative: true })],
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

    describe('negative values', () => {
      it.each<[string, unknown]>([
        ['a negative number', -3],
        ['a negative fraction', -0.5],
        ['a negative decimal string', '-12.25'],
        ['a tiny negative decimal string', '-0.00000000000000000001'],
      ])('refuses %s unless the meter allows them', (_what, value) => {
        const data = { tokens: value };
        expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', data)).toEqual({
          ok: false,
          errors: [`data: meter "tokens" does not allow negative values (${String(value)} at $.data.tokens)`],
        });
        expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens', { allowNegative: true })], 'llm.completion', data)).toEqual({
          ok: true,
          readings: [{ meter: 'tokens', aggregation: 'SUM', value: String(value), groupBy: {} }],
        });
      });

      it.each<Aggregation>(['MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'])('applies to %s too', (aggregation) => {
        expect(extractReadings([meter('m', aggregation, '$.data.v')], 'llm.completion', { v: -1 }).ok).toBe(false);
      });

      it.each<[string, unknown]>([
        ['-0', -0],
        ['"-0"', '-0'],
        ['"-0.000"', '-0.000'],
      ])('does not count %s as negative', (_what, value) => {
        expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: value }).ok).toBe(true);
      });

      it('lets a UNIQUE_COUNT meter count a negative number as an identifier', () => {
        expect(extractReadings([meter('users', 'UNIQUE_COUNT', '$.data.user')], 'llm.completion', { user: -7 }).ok).toBe(true);
      });
    });

    describe('exactness', () => {
      it('refuses integers beyond 2^53 - 1 (as a JS object can hold them), pointing to decimal strings', () => {
        const result = extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: 2 ** 60 });
        expect(!result.ok && result.errors[0]).toMatch(/^data: meter "tokens" needs a number at \$\.data\.tokens: .*2\^53 − 1.*decimal string/);
      });

      it('accepts 2^53 - 1 as a number and any size within the digit caps as a decimal string', () => {
        const data = { a: 9007199254740991, b: '9'.repeat(20) + '.' + '1'.repeat(20) };
        expect(extractReadings([meter('a', 'SUM', '$.data.a'), meter('b', 'SUM', '$.data.b')], 'llm.completion', data)).toEqual({
          ok: true,
          readings: [
            { meter: 'a', aggregation: 'SUM', value: '9007199254740991', groupBy: {} },
            { meter: 'b', aggregation: 'SUM', value: data.b, groupBy: {} },
          ],
        });
      });

      it.each([
        ['41 digits', '1'.repeat(41), 'has 41 digits; at most 40 are accepted'],
        ['21 fraction digits', '0.' + '1'.repeat(21), 'has 21 digits after the point; at most 20 are accepted'],
      ])('refuses a decimal string of %s', (_what, value, why) => {
        expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: value })).toEqual({
          ok: false,
          errors: [`data: meter "tokens" needs a number at $.data.tokens: "${value}" ${why}`],
        });
      });

      it('does not count leading zeros as digits', () => {
        expect(extractReadings([meter('tokens', 'SUM', '$.data.tokens')], 'llm.completion', { tokens: '0'.repeat(100) + '5' }).ok).toBe(true);
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

  describe('group-by and UNIQUE_COUNT values are index keys downstream', () => {
    const rule = meter('tokens', 'SUM', '$.data.tokens', { groupBy: { model: '$.data.model' } });

    it('accepts a group-by value of 256 UTF-8 bytes and refuses 257', () => {
      expect(extractReadings([rule], 'llm.completion', { tokens: 1, model: 'é'.repeat(128) }).ok).toBe(true);
      expect(extractReadings([rule], 'llm.completion', { tokens: 1, model: 'é'.repeat(128) + 'x' })).toEqual({
        ok: false,
        errors: ['data: meter "tokens" groups by "model": the value at $.data.model is 257 bytes (UTF-8); at most 256 are accepted'],
      });
    });

    it.each<[string, unknown, string]>([
      ['an object', { name: 'x' }, 'an object'],
      ['an array', ['x'], 'an array'],
    ])('refuses %s as a group-by value instead of grouping by "[object Object]"', (_what, model, found) => {
      expect(extractReadings([rule], 'llm.completion', { tokens: 1, model })).toEqual({
        ok: false,
        errors: [`data: meter "tokens" groups by "model", which needs a string, number or boolean at $.data.model (found ${found})`],
      });
    });

    it('refuses NUL in a group-by value (a JS object can hold one even though the parser refuses it)', () => {
      const result = extractReadings([rule], 'llm.completion', { tokens: 1, model: 'a\u0000b' });
      expect(!result.ok && result.errors[0]).toMatch(/NUL/);
    });

    it('caps a UNIQUE_COUNT value at 256 bytes', () => {
      const users = meter('users', 'UNIQUE_COUNT', '$.data.user');
      expect(extractReadings([users], 'llm.completion', { user: 'u'.repeat(256) }).ok).toBe(true);
      expect(extractReadings([users], 'llm.completion', { user: 'u'.repeat(257) })).toEqual({
        ok: false,
        errors: ['data: meter "users": the value at $.data.user is 257 bytes (UTF-8); at most 256 are accepted'],
      });
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
