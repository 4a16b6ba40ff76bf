import {
  attributeProblem,
  decimalStringProblem,
  firstInvalidUtf8Offset,
  INPUT_LIMITS,
  jsonNumberProblem,
  jsonPointer,
  stringContentProblem,
  utf8ByteLength,
  valueProblems,
} from './input-limits';

describe('stringContentProblem', () => {
  it.each(['', 'plain', 'é€😀', '\uD83D\uDE00', 'tab\tnewline\n', '\uFFFD'])('accepts %p', (s) => {
    expect(stringContentProblem(s)).toBeUndefined();
  });

  it('refuses NUL, saying where', () => {
    expect(stringContentProblem('ab\u0000c')).toBe('contains a NUL character (U+0000) at index 2');
  });

  it.each([
    ['a lone high surrogate', 'x\uD800', 'U+D800) at index 1'],
    ['a lone low surrogate', '\uDC00x', 'U+DC00) at index 0'],
    ['a high surrogate before a non-surrogate', '\uD83Dx\uDE00', 'U+D83D) at index 0'],
    ['two high surrogates', '\uD83D\uD83D\uDE00', 'U+D83D) at index 0'],
    ['a reversed pair', '\uDE00\uD83D', 'U+DE00) at index 0'],
  ])('refuses %s', (_what, s, where) => {
    expect(stringContentProblem(s)).toBe(`contains an unpaired UTF-16 surrogate (${where}`);
  });
});

describe('attributeProblem', () => {
  it('caps UTF-8 bytes, not characters', () => {
    expect(attributeProblem('a'.repeat(256), 256)).toBeUndefined();
    expect(attributeProblem('a'.repeat(257), 256)).toBe('is 257 bytes (UTF-8); at most 256 are accepted');
    expect(attributeProblem('é'.repeat(128), 256)).toBeUndefined();
    expect(attributeProblem('é'.repeat(129), 256)).toBe('is 258 bytes (UTF-8); at most 256 are accepted');
    expect(attributeProblem('😀'.repeat(64), 256)).toBeUndefined();
    expect(attributeProblem('😀'.repeat(65), 256)).toBe('is 260 bytes (UTF-8); at most 256 are accepted');
  });

  it('reports content before length', () => {
    expect(attributeProblem('\u0000'.repeat(1000), 256)).toMatch(/NUL/);
  });

  it('caps fit the B-tree row of (tenant, source, id) with room to spare', () => {
    // tenant ids are at most 63 bytes (admin API); a B-tree row must stay under 2,704 bytes.
    expect(63 + INPUT_LIMITS.attributeBytes.source + INPUT_LIMITS.attributeBytes.id).toBeLessThan(2_704 / 2);
  });

  it('utf8ByteLength counts bytes', () => {
    expect(utf8ByteLength('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});

describe('firstInvalidUtf8Offset', () => {
  const bytes = (...b: number[]) => Buffer.from(b);
  it.each([
    ['ASCII', Buffer.from('hello')],
    ['2-, 3- and 4-byte characters', Buffer.from('é€😀')],
    ['U+10FFFF', bytes(0xf4, 0x8f, 0xbf, 0xbf)],
    ['empty', bytes()],
  ])('accepts %s', (_what, b) => {
    expect(firstInvalidUtf8Offset(b)).toBe(-1);
  });

  it.each([
    ['a lone continuation byte', bytes(0x61, 0x80), 1],
    ['a truncated 2-byte sequence', bytes(0x61, 0x62, 0xc3), 2],
    ['a truncated 4-byte sequence', bytes(0xf0, 0x9f, 0x98), 0],
    ['an overlong "/" (C0 AF)', bytes(0xc0, 0xaf), 0],
    ['an overlong 3-byte NUL (E0 80 80)', bytes(0xe0, 0x80, 0x80), 0],
    ['a UTF-8-encoded surrogate (CESU, ED A0 80)', bytes(0x61, 0xed, 0xa0, 0x80), 1],
    ['a code point beyond U+10FFFF (F4 90 80 80)', bytes(0xf4, 0x90, 0x80, 0x80), 0],
    ['0xFF', bytes(0x61, 0x62, 0x63, 0xff), 3],
    ['Latin-1 "é" (E9)', Buffer.from('caf\u00e9', 'latin1'), 3],
  ])('finds %s', (_what, b, offset) => {
    expect(firstInvalidUtf8Offset(b)).toBe(offset);
  });
});

describe('jsonNumberProblem', () => {
  it.each([
    '0', '-0', '1', '-1', '12.5', '0.1', '0.30000000000000004', '1e3', '1E+3', '2.5e-3', '1.5e-300', '123456789012345',
    '9007199254740991', '-9007199254740991', '1.0', '100.000', '5e-324', '0.000001', '0e99999999999999999999',
  ])('accepts %s (it reads back as written)', (literal) => {
    expect(jsonNumberProblem(literal)).toBeUndefined();
  });

  it.each([
    ['9007199254740992', /beyond ±9007199254740991 \(2\^53 − 1\)/],
    ['9007199254740993', /beyond ±9007199254740991/],
    ['-9007199254740993', /beyond ±9007199254740991/],
    ['12345678901234567890', /beyond ±9007199254740991/],
    ['1e20', /beyond ±9007199254740991/],
    ['1.7976931348623157e308', /beyond ±9007199254740991/],
    ['1e400', /beyond the range of a JSON number/],
    ['-1e400', /beyond the range/],
    ['0.1000000000000000055511151231257827', /more precision than a JSON number \(a double\) keeps \(it reads as 0\.1\)/],
    ['1.00000000000000001', /more precision/],
    ['3.14159265358979323846', /more precision/],
    ['1e-400', /more precision.*reads as 0\)/],
    ['4.9e-325', /more precision/],
  ])('refuses %s', (literal, why) => {
    expect(jsonNumberProblem(literal)).toMatch(why);
    expect(jsonNumberProblem(literal)).toMatch(/send it as a decimal string$/);
  });

  it('abbreviates a very long literal in its message', () => {
    const problem = jsonNumberProblem('1'.repeat(5000))!;
    expect(problem.length).toBeLessThan(200);
    expect(problem).toContain('(5000 characters)');
  });
});

describe('decimalStringProblem', () => {
  it.each(['0', '-0', '12', '-3.50', '0.' + '1'.repeat(20), '9'.repeat(40), '0'.repeat(100) + '1'])('accepts %p', (s) => {
    expect(decimalStringProblem(s)).toBeUndefined();
  });

  it.each([
    ['1e3', 'is not a decimal number like "12" or "-3.50"'],
    ['+1', 'is not a decimal number like "12" or "-3.50"'],
    ['1.', 'is not a decimal number like "12" or "-3.50"'],
    ['.5', 'is not a decimal number like "12" or "-3.50"'],
    ['', 'is not a decimal number like "12" or "-3.50"'],
    ['NaN', 'is not a decimal number like "12" or "-3.50"'],
    ['9'.repeat(41), 'has 41 digits; at most 40 are accepted'],
    ['0.' + '1'.repeat(21), 'has 21 digits after the point; at most 20 are accepted'],
  ])('refuses %p', (s, why) => {
    expect(decimalStringProblem(s)).toBe(why);
  });
});

describe('valueProblems', () => {
  it('is empty for ordinary data', () => {
    expect(valueProblems({ a: 1, b: 'x', c: [true, null, { d: 2.5 }] }, 31)).toEqual([]);
  });

  it('finds NUL and surrogates in keys and values, with their paths', () => {
    expect(valueProblems({ ok: 'x', 'k\u0000': 1, nested: { list: ['fine', 'bad\uD800'] } }, 31)).toEqual([
      { path: ['k\u0000'], detail: 'the key contains a NUL character (U+0000) at index 1' },
      { path: ['nested', 'list', 1], detail: 'contains an unpaired UTF-16 surrogate (U+D800) at index 3' },
    ]);
  });

  it('finds integers beyond 2^53 and non-finite numbers', () => {
    expect(valueProblems({ a: 2 ** 53, b: Infinity, c: 2 ** 53 - 1 }, 31).map((p) => p.path)).toEqual([['a'], ['b']]);
  });

  it('stops at the depth limit without recursing further (a 100,000-deep value is no stack overflow)', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const problems = valueProblems(deep, 31);
    expect(problems).toHaveLength(1);
    expect(problems[0].detail).toBe('nests deeper than 31 levels');
    expect(problems[0].path).toHaveLength(31);
  });

  it('accepts exactly maxDepth levels', () => {
    let value: unknown = 1;
    for (let i = 0; i < 31; i++) value = { v: value };
    expect(valueProblems(value, 31)).toEqual([]);
    expect(valueProblems({ v: value }, 31)).toHaveLength(1);
  });

  it('stops after maxProblems', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, '\u0000']));
    expect(valueProblems(many, 31, 5)).toHaveLength(5);
  });
});

describe('jsonPointer', () => {
  it('escapes ~ and / (RFC 6901)', () => {
    expect(jsonPointer(['data', 'a/b', 'c~d', 0])).toBe('/data/a~1b/c~0d/0');
    expect(jsonPointer([])).toBe('');
  });
});
