import { firstInvalidUtf8Offset, jsonNumberProblem, jsonPointer, stringContentProblem } from './input-limits';

export interface StrictJsonOptions {
  /** Containers nested deeper than this are refused (a top-level object is level 1). */
  maxDepth: number;
  /** Prepended to every pointer of an error (e.g. `/data` when the document is an event's data). */
  pointerPrefix?: string;
}

export interface JsonInputError {
  /** RFC 6901 pointer to the offending value or key ('' for the document or a syntax error). */
  pointer: string;
  detail: string;
  /** `encoding`: not UTF-8; `syntax`: not JSON; `limit`: JSON that breaks an input limit. */
  kind: 'encoding' | 'syntax' | 'limit';
}

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; error: JsonInputError };

class JsonInputFailure extends Error {
  constructor(
    readonly pointer: string,
    readonly detail: string,
    readonly kind: 'syntax' | 'limit',
  ) {
    super(detail);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * RFC 8259 JSON, parsed with the limits ingestion needs that `JSON.parse` cannot give: bytes must be UTF-8
 * (a leading BOM is skipped), nesting is bounded (the parser recurses at most `maxDepth` levels, so a
 * 100,000-deep array is an error, never a stack overflow — and never reaches a `JSON.stringify` that would
 * overflow), member names are unique (readers disagree on which duplicate wins), strings and keys hold no
 * NUL and no unpaired surrogate, and numbers mean exactly the double they are read as (see
 * `jsonNumberProblem`). The value built is the one `JSON.parse` builds (`__proto__` included, as an own
 * property).
 */
export function parseStrictJson(input: Buffer | string, options: StrictJsonOptions): StrictJsonResult {
  const prefix = options.pointerPrefix ?? '';
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    const bad = firstInvalidUtf8Offset(input);
    if (bad >= 0) return { ok: false, error: { kind: 'encoding', pointer: prefix, detail: `is not valid UTF-8 (byte 0x${input[bad].toString(16).padStart(2, '0')} at offset ${bad})` } };
    text = input.toString('utf8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { ok: true, value: new Parser(text, options.maxDepth, prefix).document() };
  } catch (e) {
    if (e instanceof JsonInputFailure) return { ok: false, error: { kind: e.kind, pointer: e.pointer, detail: e.detail } };
    throw e;
  }
}

class Parser {
  private pos = 0;
  private readonly path: Array<string | number> = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
    private readonly prefix: string,
  ) {}

  document(): unknown {
    this.skipWhitespace();
    if (this.pos >= this.text.length) this.syntax('is empty');
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.syntax(`has more after the JSON value (at character ${this.pos})`);
    return value;
  }

  private value(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    if (c === 0x22 /* " */) {
      const s = this.string();
      const problem = stringContentProblem(s);
      if (problem) this.fail(problem);
      return s;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.text.startsWith('true', this.pos)) return this.literal(4, true);
    if (this.text.startsWith('false', this.pos)) return this.literal(5, false);
    if (this.text.startsWith('null', this.pos)) return this.literal(4, null);
    return this.unexpected();
  }

  private literal<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  private object(depth: number): Record<string, unknown> {
    this.enter(depth);
    this.pos++;
    const result: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.unexpected('a member name in double quotes');
      const key = this.string();
      this.path.push(key);
      const keyProblem = stringContentProblem(key);
      if (keyProblem) this.fail(`the member name ${keyProblem}`);
      if (Object.hasOwn(result, key)) this.fail('is a duplicate member name (readers disagree on which one wins)');
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.unexpected("':'");
      this.pos++;
      this.skipWhitespace();
      const v = this.value(depth);
      // An assignment to "__proto__" would set the prototype; JSON.parse makes it an own property.
      if (key === '__proto__') Object.defineProperty(result, key, { value: v, enumerable: true, writable: true, configurable: true });
      else result[key] = v;
      this.path.pop();
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x2c /* , */) continue;
      if (c === 0x7d /* } */) return result;
      this.pos--;
      this.unexpected("',' or '}'");
    }
  }

  private array(depth: number): unknown[] {
    this.enter(depth);
    this.pos++;
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      this.path.push(result.length);
      result.push(this.value(depth));
      this.path.pop();
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      this.pos++;
      if (c === 0x2c) continue;
      if (c === 0x5d) return result;
      this.pos--;
      this.unexpected("',' or ']'");
    }
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nests deeper than ${this.maxDepth} levels`);
  }

  private string(): string {
    const text = this.text;
    let i = this.pos + 1;
    let out = '';
    let chunkStart = i;
    for (;;) {
      if (i >= text.length) {
        this.pos = i;
        this.syntax('has an unterminated string');
      }
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail(c === 0 ? 'contains a NUL character (U+0000)' : `contains the control character U+${c.toString(16).padStart(4, '0').toUpperCase()} unescaped`);
      }
      if (c !== 0x5c /* \ */) {
        i++;
        continue;
      }
      out += text.slice(chunkStart, i);
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!HEX4.test(hex)) {
          this.pos = i;
          this.syntax(`has a bad \\u escape at character ${i}`);
        }
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && ESCAPES[e] !== undefined) {
        out += ESCAPES[e];
        i += 2;
      } else {
        this.pos = i;
        this.syntax(`has a bad escape at character ${i}`);
      }
      chunkStart = i;
    }
    out += text.slice(chunkStart, i);
    this.pos = i + 1;
    return out;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (!m) return this.unexpected();
    const literal = m[0];
    const problem = jsonNumberProblem(literal);
    if (problem) this.fail(problem);
    this.pos += literal.length;
    return Number(literal);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let i = this.pos;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.pos = i;
  }

  private unexpected(expected?: string): never {
    const found = this.pos >= this.text.length ? 'the end' : JSON.stringify(this.text[this.pos]);
    return this.syntax(`is not valid JSON: ${expected ? `expected ${expected}, found` : 'unexpected'} ${found} at character ${this.pos}`);
  }

  private syntax(detail: string): never {
    // Syntax errors name the document: a pointer into a half-read value would mislead.
    throw new JsonInputFailure(this.prefix, detail, 'syntax');
  }

  private fail(detail: string): never {
    throw new JsonInputFailure(this.prefix + jsonPointer(this.path), detail, 'limit');
  }
}
