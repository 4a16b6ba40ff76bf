import { parseJsonPath, readJsonPath } from './json-path';

describe('parseJsonPath', () => {
  it('parses the root alone to no steps', () => {
    expect(parseJsonPath('$')).toEqual([]);
  });

  it('parses dotted names, including _ and - after the first character', () => {
    expect(parseJsonPath('$.a.b_c.d-e.F9')).toEqual(['a', 'b_c', 'd-e', 'F9']);
    expect(parseJsonPath('$._private')).toEqual(['_private']);
  });

  it('parses array indexes as numbers', () => {
    expect(parseJsonPath('$.items[0].qty')).toEqual(['items', 0, 'qty']);
    expect(parseJsonPath('$[12][3]')).toEqual([12, 3]);
  });

  it('parses single- and double-quoted bracket keys verbatim', () => {
    expect(parseJsonPath("$['a-b']")).toEqual(['a-b']);
    expect(parseJsonPath('$["x.y z"]')).toEqual(['x.y z']);
    expect(parseJsonPath("$['0']")).toEqual(['0']);
    expect(parseJsonPath("$['']")).toEqual(['']);
    expect(parseJsonPath("$.usage['tokens-in'][1].n")).toEqual(['usage', 'tokens-in', 1, 'n']);
  });

  it('rejects a path not starting with $', () => {
    expect(() => parseJsonPath('a.b')).toThrow('JSONPath "a.b" must start with $');
    expect(() => parseJsonPath('')).toThrow('must start with $');
  });

  it.each([
    '$..a', // recursive descent
    '$.*', // wildcard
    '$.a[*]', // wildcard index
    '$.a[-1]', // negative index
    '$.a[0:2]', // slice
    '$.a[?(@.b)]', // filter
    '$.1a', // name starting with a digit
    '$.a.', // trailing dot
    '$a', // missing dot
    '$.a b', // space
    "$['a]", // unterminated quote
    '$[\'a"]', // mismatched quotes
  ])('throws on unsupported syntax %s', (path) => {
    expect(() => parseJsonPath(path)).toThrow(`JSONPath "${path}" is not supported (use $.a.b, $.a[0] or $['a-b'])`);
  });
});

describe('readJsonPath', () => {
  const doc = {
    a: { b: { c: 42 } },
    items: [{ qty: 3 }, { qty: 5, tags: ['x', 'y'] }],
    'a-b': 'dash',
    'x.y': 'dotted',
    zero: 0,
    empty: '',
    no: false,
    nothing: null,
  };

  it('returns the root for $', () => {
    expect(readJsonPath(doc, '$')).toBe(doc);
  });

  it('reads nested properties', () => {
    expect(readJsonPath(doc, '$.a.b.c')).toBe(42);
    expect(readJsonPath(doc, '$.a.b')).toEqual({ c: 42 });
  });

  it('reads array elements by index', () => {
    expect(readJsonPath(doc, '$.items[1].qty')).toBe(5);
    expect(readJsonPath(doc, '$.items[1].tags[0]')).toBe('x');
    expect(readJsonPath([10, 20, 30], '$[2]')).toBe(30);
  });

  it('reads bracket-quoted keys', () => {
    expect(readJsonPath(doc, "$['a-b']")).toBe('dash');
    expect(readJsonPath(doc, '$["x.y"]')).toBe('dotted');
    expect(readJsonPath(doc, "$['a']['b'].c")).toBe(42);
  });

  it('returns falsy values as they are, not as undefined', () => {
    expect(readJsonPath(doc, '$.zero')).toBe(0);
    expect(readJsonPath(doc, '$.empty')).toBe('');
    expect(readJsonPath(doc, '$.no')).toBe(false);
    expect(readJsonPath(doc, '$.nothing')).toBeNull();
  });

  it('returns undefined when any step is missing', () => {
    expect(readJsonPath(doc, '$.missing')).toBeUndefined();
    expect(readJsonPath(doc, '$.missing.deeper')).toBeUndefined();
    expect(readJsonPath(doc, '$.a.x.c')).toBeUndefined();
    expect(readJsonPath(doc, '$.items[7].qty')).toBeUndefined();
    expect(readJsonPath(doc, '$.items[0].tags[0]')).toBeUndefined();
  });

  it('returns undefined when stepping into a primitive or null', () => {
    expect(readJsonPath(doc, '$.a.b.c.d')).toBeUndefined();
    expect(readJsonPath(doc, '$.nothing.x')).toBeUndefined();
    expect(readJsonPath(doc, "$['a-b'].length")).toBeUndefined();
    expect(readJsonPath(doc, '$.empty[0]')).toBeUndefined();
    expect(readJsonPath(null, '$.a')).toBeUndefined();
    expect(readJsonPath(undefined, '$.a')).toBeUndefined();
    expect(readJsonPath(7, '$[0]')).toBeUndefined();
  });

  it('does not read inherited properties as if they were in the data', () => {
    expect(readJsonPath({}, '$.constructor')).toBeUndefined();
    expect(readJsonPath({ a: {} }, '$.a.toString')).toBeUndefined();
    expect(readJsonPath({ a: {} }, "$.a['__proto__']")).toBeUndefined();
    expect(readJsonPath({ tags: ['x'] }, '$.tags.map')).toBeUndefined();
  });

  it('throws on an unsupported path even when the data is empty', () => {
    expect(() => readJsonPath({}, '$..a')).toThrow('is not supported');
  });
});
