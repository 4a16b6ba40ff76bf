import type { Aggregation } from '@tally/contracts';
import { MeterValidationError, validateMeter, type MeterInput } from './meter-catalog.service';

const meter = (over: Partial<MeterInput> = {}): MeterInput => ({
  slug: 'tokens',
  eventType: 'llm.completion',
  aggregation: 'SUM',
  valueProperty: '$.data.tokens',
  ...over,
});

/** The errors validateMeter throws, or null when it accepts the meter. */
const errorsOf = (input: unknown): string[] | null => {
  try {
    validateMeter(input as MeterInput);
    return null;
  } catch (e) {
    if (!(e instanceof MeterValidationError)) throw e;
    return e.errors;
  }
};

describe('validateMeter', () => {
  describe('valid meters', () => {
    it('accepts a SUM meter with a value property and group-bys', () => {
      expect(errorsOf(meter({ description: 'LLM tokens', groupBy: { model: '$.data.model', region: "$['region-code']", first: '$.items[0].id' } }))).toBeNull();
    });

    it('accepts a COUNT meter without a value property', () => {
      expect(errorsOf(meter({ aggregation: 'COUNT', valueProperty: undefined, groupBy: { model: '$.model' } }))).toBeNull();
    });

    it('accepts every non-COUNT aggregation with a value property', () => {
      for (const aggregation of ['SUM', 'MAX', 'MIN', 'AVG', 'UNIQUE_COUNT', 'LATEST'] as Aggregation[]) {
        expect(errorsOf(meter({ aggregation }))).toBeNull();
      }
    });

    it('accepts slugs of lower-case letters, digits, - and _ starting with a letter or digit', () => {
      for (const slug of ['a', '0', 'api-calls', 'tokens_v2', '9lives']) expect(errorsOf(meter({ slug }))).toBeNull();
    });
  });

  it('refuses a bad slug', () => {
    for (const slug of ['Tokens', '-tokens', '_tokens', 'api calls', 'api.calls', 'tökens', '', undefined]) {
      expect(errorsOf(meter({ slug: slug as string }))).toEqual(['slug: lower-case letters, digits, - and _']);
    }
  });

  it('refuses a missing, empty or non-string eventType', () => {
    for (const eventType of [undefined, '', 42]) {
      expect(errorsOf(meter({ eventType: eventType as string }))).toEqual(['eventType: is required']);
    }
  });

  it('refuses an unknown aggregation, without also asking for a value property', () => {
    const expected = ['aggregation: one of SUM, COUNT, MAX, MIN, AVG, UNIQUE_COUNT, LATEST, TIME_WEIGHTED_SUM'];
    for (const aggregation of ['TOTAL', 'sum', '', undefined]) {
      expect(errorsOf(meter({ aggregation: aggregation as Aggregation }))).toEqual(expected);
      expect(errorsOf(meter({ aggregation: aggregation as Aggregation, valueProperty: undefined }))).toEqual(expected);
    }
  });

  it('refuses a COUNT meter with a value property', () => {
    expect(errorsOf(meter({ aggregation: 'COUNT', valueProperty: '$.data.tokens' }))).toEqual(['valueProperty: COUNT takes no value property']);
  });

  it('refuses every other aggregation without a value property', () => {
    for (const aggregation of ['SUM', 'MAX', 'MIN', 'AVG', 'UNIQUE_COUNT', 'LATEST'] as Aggregation[]) {
      expect(errorsOf(meter({ aggregation, valueProperty: undefined }))).toEqual([`valueProperty: is required for ${aggregation}`]);
      expect(errorsOf(meter({ aggregation, valueProperty: '' }))).toEqual([`valueProperty: is required for ${aggregation}`]);
    }
  });

  it('refuses a value property that is not a supported JSONPath', () => {
    expect(errorsOf(meter({ valueProperty: 'data.tokens' }))).toEqual(['valueProperty: JSONPath "data.tokens" must start with $']);
    expect(errorsOf(meter({ valueProperty: '$.data..tokens' }))).toEqual([
      `valueProperty: JSONPath "$.data..tokens" is not supported (use $.a.b, $.a[0] or $['a-b'])`,
    ]);
  });

  it('refuses a group-by that is not a supported JSONPath, naming it groupBy.<name>', () => {
    expect(errorsOf(meter({ groupBy: { model: '$.data.model', region: 'region' } }))).toEqual(['groupBy.region: JSONPath "region" must start with $']);
    expect(errorsOf(meter({ groupBy: { tier: '$.plan[*]' } }))).toEqual([`groupBy.tier: JSONPath "$.plan[*]" is not supported (use $.a.b, $.a[0] or $['a-b'])`]);
  });

  it('refuses a group-by with an empty or non-string path', () => {
    // An empty path would make every later event of the meter's type fail to normalize.
    expect(errorsOf(meter({ groupBy: { model: '' } }))).toEqual(['groupBy.model: JSONPath "" must start with $']);
    expect(errorsOf(meter({ groupBy: { model: null as unknown as string } }))).toEqual(['groupBy.model: must be a JSONPath string']);
    expect(errorsOf(meter({ groupBy: { model: 42 as unknown as string } }))).toEqual(['groupBy.model: must be a JSONPath string']);
  });

  it('refuses a value property that is not a string', () => {
    expect(errorsOf(meter({ valueProperty: 42 as unknown as string }))).toEqual(['valueProperty: must be a JSONPath string']);
  });

  it('lets a COUNT meter leave the value property null or empty', () => {
    expect(errorsOf(meter({ aggregation: 'COUNT', valueProperty: null as unknown as string }))).toBeNull();
    expect(errorsOf(meter({ aggregation: 'COUNT', valueProperty: '' }))).toBeNull();
  });

  it('reports every problem at once, in field order', () => {
    expect(errorsOf({ slug: 'Bad Slug', aggregation: 'COUNT', valueProperty: 'x', groupBy: { a: '$.a', b: 'b' } })).toEqual([
      'slug: lower-case letters, digits, - and _',
      'eventType: is required',
      'valueProperty: COUNT takes no value property',
      'valueProperty: JSONPath "x" must start with $',
      'groupBy.b: JSONPath "b" must start with $',
    ]);
  });

  describe('negative values policy', () => {
    it('accepts allowNegative true or false on numeric aggregations', () => {
      for (const aggregation of ['SUM', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'] as Aggregation[]) {
        expect(errorsOf(meter({ aggregation, allowNegative: true }))).toBeNull();
        expect(errorsOf(meter({ aggregation, allowNegative: false }))).toBeNull();
      }
    });

    it('refuses allowNegative true where no value is read as a number', () => {
      expect(errorsOf(meter({ aggregation: 'COUNT', valueProperty: undefined, allowNegative: true }))).toEqual([
        'allowNegative: only numeric aggregations read values that can be negative, not COUNT',
      ]);
      expect(errorsOf(meter({ aggregation: 'UNIQUE_COUNT', allowNegative: true }))).toEqual([
        'allowNegative: only numeric aggregations read values that can be negative, not UNIQUE_COUNT',
      ]);
    });

    it.each([['yes'], [1], [null]])('refuses allowNegative %p', (allowNegative) => {
      expect(errorsOf(meter({ allowNegative: allowNegative as unknown as boolean }))).toEqual(['allowNegative: must be true or false']);
    });
  });

  describe('limits (slugs, types and group-by names are keys downstream)', () => {
    it('accepts a 64-character slug and refuses 65', () => {
      expect(errorsOf(meter({ slug: 'a'.repeat(64) }))).toBeNull();
      expect(errorsOf(meter({ slug: 'a'.repeat(65) }))).toEqual(['slug: at most 64 characters']);
    });

    it('refuses an eventType no event could carry', () => {
      expect(errorsOf(meter({ eventType: 't'.repeat(256) }))).toBeNull();
      expect(errorsOf(meter({ eventType: 't'.repeat(257) }))).toEqual(['eventType: is 257 bytes (UTF-8); at most 256 are accepted']);
      expect(errorsOf(meter({ eventType: 'a\u0000b' }))).toEqual(['eventType: contains a NUL character (U+0000) at index 1']);
    });

    it('refuses more than 16 group-by properties, bad names and a groupBy that is not an object', () => {
      const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`g${i}`, `$.g${i}`]));
      expect(errorsOf(meter({ groupBy: many }))).toEqual(['groupBy: at most 16 properties']);
      expect(errorsOf(meter({ groupBy: { ['n'.repeat(65)]: '$.a' } }))).toEqual([`groupBy.${'n'.repeat(65)}: the name is 65 bytes (UTF-8); at most 64 are accepted`]);
      expect(errorsOf(meter({ groupBy: { '': '$.a' } }))).toEqual(['groupBy.: the name must not be empty']);
      expect(errorsOf(meter({ groupBy: ['$.a'] as unknown as Record<string, string> }))).toEqual(['groupBy: must be an object of name -> JSONPath']);
    });

    it('refuses a description over 1024 characters or not a string', () => {
      expect(errorsOf(meter({ description: 'd'.repeat(1024) }))).toBeNull();
      expect(errorsOf(meter({ description: 'd'.repeat(1025) }))).toEqual(['description: at most 1024 characters']);
      expect(errorsOf(meter({ description: 5 as unknown as string }))).toEqual(['description: must be a string']);
    });
  });

  it('refuses a body that is not an object', () => {
    for (const input of [null, 'tokens', 42]) expect(errorsOf(input)).toEqual([': must be a JSON object']);
  });
});

describe('MeterValidationError', () => {
  it('is an Error carrying the field errors, joined in its message', () => {
    const error = new MeterValidationError(['slug: lower-case letters, digits, - and _', 'eventType: is required']);
    expect(error).toBeInstanceOf(Error);
    expect(error.errors).toEqual(['slug: lower-case letters, digits, - and _', 'eventType: is required']);
    expect(error.message).toBe('invalid meter: slug: lower-case letters, digits, - and _; eventType: is required');
  });

  it('is what validateMeter throws', () => {
    expect(() => validateMeter(meter({ eventType: '' }))).toThrow(MeterValidationError);
    expect(() => validateMeter(meter({ eventType: '' }))).toThrow('invalid meter: eventType: is required');
  });
});
