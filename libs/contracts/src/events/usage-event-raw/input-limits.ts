import { isUtf8 } from 'node:buffer';

/**
 * Hard limits on what a usage event may contain, the same for HTTP and Kafka. They exist so that nothing
 * ingestion accepts can fail further down (a Postgres index, a numeric column, a JSON serializer) and block
 * a partition there. Lengths are UTF-8 bytes, because that is what an index row is made of: aggregation
 * keeps (tenant, source, id) in a unique B-tree index and (tenant, subject, meter, window, value) in
 * another, and a B-tree row must stay under ~2,700 bytes (a third of an 8 KiB page).
 */
export const INPUT_LIMITS = {
  /** UTF-8 bytes of each CloudEvents attribute. */
  attributeBytes: { id: 512, source: 512, type: 256, subject: 256, tenant: 256, datacontenttype: 256 },
  /** UTF-8 bytes of one group-by value and of a UNIQUE_COUNT value (both are index keys downstream). */
  groupByValueBytes: 256,
  uniqueValueBytes: 256,
  /** Nesting of containers in one event: the event object is level 1, its `data` level 2. */
  maxDepth: 32,
  /** A meter value sent as a decimal string: at most this many digits in all, and after the point. */
  decimalDigits: 40,
  decimalFractionDigits: 20,
} as const;

export type LimitedAttribute = keyof typeof INPUT_LIMITS.attributeBytes;

export function utf8ByteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const NUL_OR_SURROGATE = /[\u0000\uD800-\uDFFF]/;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored (Postgres text refuses NUL; an unpaired UTF-16 surrogate has no UTF-8 form
 * and breaks jsonb and every other language's decoder), or undefined when it can.
 */
export function stringContentProblem(s: string): string | undefined {
  if (!NUL_OR_SURROGATE.test(s)) return undefined;
  const nul = s.indexOf('\u0000');
  if (nul >= 0) return `contains a NUL character (U+0000) at index ${nul}`;
  const m = UNPAIRED_SURROGATE.exec(s);
  if (m) return `contains an unpaired UTF-16 surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()}) at index ${m.index}`;
  return undefined;
}

/** Content and length of one attribute value. */
export function attributeProblem(s: string, maxBytes: number): string | undefined {
  const content = stringContentProblem(s);
  if (content) return content;
  // Cheap first: a string of n UTF-16 units is at most 3n UTF-8 bytes.
  if (s.length * 3 > maxBytes) {
    const bytes = utf8ByteLength(s);
    if (bytes > maxBytes) return `is ${bytes} bytes (UTF-8); at most ${maxBytes} are accepted`;
  }
  return undefined;
}

/** Offset of the first byte that is not part of well-formed UTF-8 (RFC 3629), or -1 when all are. */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates encoded as UTF-8 (CESU), and code points beyond U+10FFFF.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
const SHORT_PLAIN_NUMBER = /^-?\d+(?:\.\d+)?$/;

/** A decimal as sign, significant digits (no leading or trailing zeros) and exponent; zero has no digits. */
function canonicalDecimal(literal: string): { negative: boolean; digits: string; exponent: number } | undefined {
  const m = JSON_NUMBER.exec(literal);
  if (!m) return undefined;
  const fraction = m[3] ?? '';
  let digits = (m[2] + fraction).replace(/^0+/, '');
  if (digits === '') return { negative: false, digits: '', exponent: 0 };
  let exponent = Number(m[4] ?? '0') - fraction.length;
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return { negative: m[1] === '-', digits, exponent };
}

/**
 * Whether a JSON number literal means exactly the double every JSON reader turns it into. Integers beyond
 * ±(2^53 − 1) are refused even when a double happens to hold them, because readers cannot tell 2^53 from
 * 2^53 + 1; a fraction is refused when its digits go beyond what the double keeps (0.1 is fine: it reads
 * back as 0.1). Such values can be sent as decimal strings, which are kept exactly.
 */
export function jsonNumberProblem(literal: string): string | undefined {
  // Up to 15 significant digits without an exponent always read back as written.
  if (literal.length <= 16 && SHORT_PLAIN_NUMBER.test(literal) && literal.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15) return undefined;
  const n = Number(literal);
  if (!Number.isFinite(n)) return `${abbreviate(literal)} is beyond the range of a JSON number (a double); send it as a decimal string`;
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    return `${abbreviate(literal)} is beyond ±9007199254740991 (2^53 − 1), where JSON numbers stop being exact; send it as a decimal string`;
  }
  const written = canonicalDecimal(literal);
  const read = canonicalDecimal(String(n));
  if (!written || !read) return `${abbreviate(literal)} is not a JSON number`;
  if (written.digits !== read.digits || written.exponent !== read.exponent || (written.digits !== '' && written.negative !== read.negative)) {
    return `${abbreviate(literal)} has more precision than a JSON number (a double) keeps (it reads as ${String(n)}); send it as a decimal string`;
  }
  return undefined;
}

const DECIMAL_STRING = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * A meter value sent as a string: a plain decimal ("12", "-3.50"), no exponent, within
 * INPUT_LIMITS.decimalDigits / decimalFractionDigits so Postgres numeric and the pricing engine keep it.
 */
export function decimalStringProblem(s: string): string | undefined {
  const m = DECIMAL_STRING.exec(s);
  if (!m) return 'is not a decimal number like "12" or "-3.50"';
  const fraction = m[3] ?? '';
  const significant = (m[2].replace(/^0+/, '') + fraction).length;
  if (fraction.length > INPUT_LIMITS.decimalFractionDigits) return `has ${fraction.length} digits after the point; at most ${INPUT_LIMITS.decimalFractionDigits} are accepted`;
  if (significant > INPUT_LIMITS.decimalDigits) return `has ${significant} digits; at most ${INPUT_LIMITS.decimalDigits} are accepted`;
  return undefined;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...(${s.length} characters)` : s;
}

export interface ValueProblem {
  /** Keys from the value's root to the offending key or value. */
  path: Array<string | number>;
  detail: string;
}

/**
 * NUL characters, unpaired surrogates (in keys and values), integers beyond 2^53 and nesting beyond
 * `maxDepth` anywhere in a parsed value. Depth-bounded, so a hostile document cannot overflow the stack
 * (the strict parser refuses deep documents before they get here; this guards values built elsewhere).
 * Stops after `maxProblems`.
 */
export function valueProblems(value: unknown, maxDepth: number, maxProblems = 20): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const path: Array<string | number> = [];
  const visit = (v: unknown, depth: number): void => {
    if (problems.length >= maxProblems) return;
    if (typeof v === 'string') {
      const p = stringContentProblem(v);
      if (p) problems.push({ path: [...path], detail: p });
      return;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push({ path: [...path], detail: 'is not a finite number' });
      else if (Number.isInteger(v) && !Number.isSafeInteger(v)) problems.push({ path: [...path], detail: jsonNumberProblem(String(v)) ?? 'is not exact' });
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (depth + 1 > maxDepth) {
      problems.push({ path: [...path], detail: `nests deeper than ${maxDepth} levels` });
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && problems.length < maxProblems; i++) {
        path.push(i);
        visit(v[i], depth + 1);
        path.pop();
      }
      return;
    }
    for (const key of Object.keys(v)) {
      if (problems.length >= maxProblems) return;
      path.push(key);
      const p = stringContentProblem(key);
      if (p) problems.push({ path: [...path], detail: `the key ${p}` });
      else visit((v as Record<string, unknown>)[key], depth + 1);
      path.pop();
    }
  };
  visit(value, 0);
  return problems;
}

/** RFC 6901 JSON Pointer of a path. */
export function jsonPointer(path: ReadonlyArray<string | number>): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}
