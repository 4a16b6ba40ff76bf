import { parseStrictJson } from './strict-json';

const parse = (input: string | Buffer, maxDepth = 32) => parseStrictJson(input, { maxDepth });
const errorOf = (input: string | Buffer, maxDepth = 32) => {
  const result = parse(input, maxDepth);
  if (result.ok) throw new Error(`expected ${String(input).slice(0, 50)} to be refused`);
  return result.error;
};

describe('parseStrictJson', () => {
  describe('builds what JSON.parse builds', () => {
    it.each([
      '{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
      '  [1, -2.5, 3e2, "x", {}, []]  ',
      '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"',
      '0',
      '-0',
      'null',
      '{"":""}',
      '{"é€😀":"😀"}',
      '[1.5e-300, 0.1, 9007199254740991]',
    ])('%s', (text) => {
      const result = parse(text);
      expect(result).toEqual({ ok: true, value: JSON.parse(text) });
    });

    it('keeps "__proto__" as an own property and never touches the prototype', () => {
      const result = parse('{"__proto__":{"polluted":true},"a":1}');
      expect(result.ok).toBe(true);
      const value = (result as { value: Record<string, unknown> }).value;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(value).toEqual(JSON.parse('{"__proto__":{"polluted":true},"a":1}'));
    });

    it('reads UTF-8 bytes and skips a leading BOM', () => {
      expect(parse(Buffer.from('{"s":"café"}'))).toEqual({ ok: true, value: { s: 'café' } });
      expect(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]))).toEqual({ ok: true, value: { a: 1 } });
    });
  });

  describe('syntax errors name the document', () => {
    it.each([
      ['', 'is empty'],
      ['   ', 'is empty'],
      ['{"a":', 'expected'],
      ['{"a" 1}', "expected ':'"],
      ['{"a":1,}', 'a member name in double quotes'],
      ['[1,]', 'unexpected "]"'],
      ['[1 2]', "expected ',' or ']'"],
      ['{a:1}', 'a member name in double quotes'],
      ["{'a':1}", 'a member name in double quotes'],
      ['01', 'has more after the JSON value'],
      ['1.', 'has more after the JSON value'],
      ['+1', 'unexpected "+"'],
      ['NaN', 'unexpected "N"'],
      ['Infinity', 'unexpected "I"'],
      ['tru', 'unexpected "t"'],
      ['"abc', 'unterminated string'],
      ['"\\x"', 'bad escape'],
      ['"\\u12"', 'bad \\u escape'],
      ['{"a":1}{"b":2}', 'has more after the JSON value'],
      ['{"a":1} // comment', 'has more after the JSON value'],
    ])('%p', (text, detail) => {
      const error = errorOf(text);
      expect(error.kind).toBe('syntax');
      expect(error.pointer).toBe('');
      expect(error.detail).toContain(detail);
    });

    it('uses the pointer prefix for syntax errors', () => {
      expect(parseStrictJson('[', { maxDepth: 5, pointerPrefix: '/data' })).toMatchObject({ ok: false, error: { pointer: '/data' } });
    });
  });

  describe('limits name the offending value', () => {
    it('refuses NUL escaped in a value and in a key, and raw', () => {
      expect(errorOf('{"a":{"b":"x\\u0000y"}}')).toEqual({ kind: 'limit', pointer: '/a/b', detail: 'contains a NUL character (U+0000) at index 1' });
      expect(errorOf('{"k\\u0000":1}')).toEqual({ kind: 'limit', pointer: '/k\u0000', detail: 'the member name contains a NUL character (U+0000) at index 1' });
      expect(errorOf(Buffer.from('{"a":"x\u0000"}'))).toEqual({ kind: 'limit', pointer: '/a', detail: 'contains a NUL character (U+0000)' });
    });

    it('refuses other raw control characters', () => {
      expect(errorOf('{"a":"line\nbreak"}')).toEqual({ kind: 'limit', pointer: '/a', detail: 'contains the control character U+000A unescaped' });
    });

    it('refuses unpaired surrogates in values and keys, accepts pairs', () => {
      expect(errorOf('["ok","\\ud800"]')).toMatchObject({ pointer: '/1', detail: expect.stringContaining('unpaired UTF-16 surrogate (U+D800)') });
      expect(errorOf('{"\\udc00":1}')).toMatchObject({ pointer: '/\uDC00', detail: expect.stringContaining('the member name contains an unpaired') });
      expect(errorOf('["\\ud83d\\u0041"]')).toMatchObject({ pointer: '/0' });
      expect(parse('["\\ud83d\\ude00"]')).toEqual({ ok: true, value: ['😀'] });
    });

    it('refuses a lone surrogate in a JS string input too', () => {
      expect(errorOf('["\uD800"]')).toMatchObject({ kind: 'limit', pointer: '/0' });
    });

    it('refuses duplicate member names (readers disagree on which one wins)', () => {
      expect(errorOf('{"id":"a","data":{},"id":"b"}')).toEqual({
        kind: 'limit',
        pointer: '/id',
        detail: 'is a duplicate member name (readers disagree on which one wins)',
      });
      // The same name spelled with an escape is the same name.
      expect(errorOf('{"id":1,"\\u0069d":2}')).toMatchObject({ pointer: '/id' });
    });

    it('refuses numbers JSON cannot carry exactly, pointing at them', () => {
      expect(errorOf('{"data":{"tokens":9007199254740993}}')).toMatchObject({ kind: 'limit', pointer: '/data/tokens', detail: expect.stringContaining('2^53') });
      expect(errorOf('[0.1000000000000000055511151231257827]')).toMatchObject({ pointer: '/0', detail: expect.stringContaining('more precision') });
      expect(errorOf('{"x":1e999}')).toMatchObject({ pointer: '/x', detail: expect.stringContaining('beyond the range') });
    });

    it('escapes ~ and / in pointers', () => {
      expect(errorOf('{"a/b":{"c~d":"\\u0000"}}').pointer).toBe('/a~1b/c~0d');
    });

    it('accepts exactly maxDepth levels and refuses one more, at the container that is one too deep', () => {
      expect(parse('[[[1]]]', 3).ok).toBe(true);
      expect(errorOf('[[[[1]]]]', 3)).toEqual({ kind: 'limit', pointer: '/0/0/0', detail: 'nests deeper than 3 levels' });
      expect(errorOf('{"a":{"b":{"c":{}}}}', 3)).toEqual({ kind: 'limit', pointer: '/a/b/c', detail: 'nests deeper than 3 levels' });
    });

    it('refuses a 100,000-deep array quickly, without a stack overflow', () => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      const started = Date.now();
      expect(errorOf(deep)).toMatchObject({ kind: 'limit', detail: 'nests deeper than 32 levels' });
      expect(errorOf(Buffer.from('{"a":' + deep + '}'))).toMatchObject({ kind: 'limit' });
      // An unbalanced one too (no closing brackets at all).
      expect(errorOf('['.repeat(1_000_000))).toMatchObject({ kind: 'limit' });
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  });

  describe('encoding', () => {
    it.each([
      ['Latin-1 bytes', Buffer.from('{"s":"caf\u00e9"}', 'latin1'), 9, 'e9'],
      ['an overlong encoding', Buffer.from([0x22, 0xc0, 0xaf, 0x22]), 1, 'c0'],
      ['a CESU-8 surrogate', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 1, 'ed'],
      ['a truncated sequence at the end', Buffer.from([0x22, 0xe2, 0x82]), 1, 'e2'],
    ])('refuses %s, naming the byte and offset', (_what, bytes, offset, hex) => {
      expect(errorOf(bytes)).toEqual({ kind: 'encoding', pointer: '', detail: `is not valid UTF-8 (byte 0x${hex} at offset ${offset})` });
    });

    it('refuses UTF-16 text (its NUL bytes are not JSON)', () => {
      // UTF-16LE ASCII is valid UTF-8 with a NUL after every character: refused at the first one.
      expect(errorOf(Buffer.from('{"a":1}', 'utf16le'))).toMatchObject({ kind: 'syntax', pointer: '' });
    });
  });
});
