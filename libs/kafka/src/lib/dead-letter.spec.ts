import { createHash } from 'node:crypto';
import { HEADERS } from '@tally/contracts';
import { deadLetterHeaders, deadLetterValue, DEFAULT_DEAD_LETTER_LIMITS } from './dead-letter';

const source = (value: Buffer | null, headers: Record<string, string> = {}) => ({
  topic: 'usage.events.raw.v1',
  partition: 2,
  offset: '41',
  timestamp: '1700000000000',
  key: 'acme:cust-1',
  value,
  headers,
});
const NOW = new Date('2026-11-30T12:00:00Z');

describe('deadLetterValue', () => {
  it('keeps a small text value whole, with its size and hash', () => {
    const bytes = Buffer.from('{"id":"e1"}');
    const v = deadLetterValue(source(bytes), 'schema validation failed: id', DEFAULT_DEAD_LETTER_LIMITS, NOW);
    expect(v).toEqual({
      reason: 'schema validation failed: id',
      source: { topic: 'usage.events.raw.v1', partition: 2, offset: '41', timestamp: '1700000000000' },
      key: 'acme:cust-1',
      headers: {},
      value: '{"id":"e1"}',
      valueBase64: null,
      valueSize: 11,
      valueSha256: createHash('sha256').update(bytes).digest('hex'),
      truncated: false,
      deadLetteredAt: '2026-11-30T12:00:00.000Z',
    });
  });

  it('cuts a large value to the limit and says so; the hash and size are of the whole original', () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const v = deadLetterValue(source(bytes), 'too big', { ...DEFAULT_DEAD_LETTER_LIMITS, maxValueBytes: 1000 }, NOW);
    expect(v.truncated).toBe(true);
    expect(v.value).toBeNull();
    expect(Buffer.from(v.valueBase64!, 'base64')).toEqual(bytes.subarray(0, 1000));
    expect(v.valueSize).toBe(bytes.length);
    expect(v.valueSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('keeps bytes that are not UTF-8 as base64 only', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0xc3]);
    const v = deadLetterValue(source(bytes), 'undecodable', DEFAULT_DEAD_LETTER_LIMITS, NOW);
    expect(v.value).toBeNull();
    expect(v.valueBase64).toBe(bytes.toString('base64'));
  });

  it('handles a message without a value', () => {
    const v = deadLetterValue(source(null), 'empty message value', DEFAULT_DEAD_LETTER_LIMITS, NOW);
    expect(v).toMatchObject({ value: null, valueBase64: null, valueSize: 0, valueSha256: null, truncated: false });
  });

  it('bounds reason, header count and header values; NUL and lone surrogates cannot poison the JSON', () => {
    const headers = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`h${i}`, `v\u0000${'x'.repeat(5000)}`]));
    const v = deadLetterValue(source(Buffer.from('x'), headers), `bad \uD800 ${'r'.repeat(10_000)}`, DEFAULT_DEAD_LETTER_LIMITS, NOW);
    expect(v.reason.length).toBe(DEFAULT_DEAD_LETTER_LIMITS.maxReasonChars);
    expect(v.reason).not.toMatch(/[\uD800-\uDFFF]/);
    expect(Object.keys(v.headers)).toHaveLength(DEFAULT_DEAD_LETTER_LIMITS.maxHeaders);
    expect(Object.values(v.headers).every((h) => h.length <= DEFAULT_DEAD_LETTER_LIMITS.maxHeaderChars && !h.includes('\u0000'))).toBe(true);
    // The whole dead letter stays far below the broker's 1 MiB default.
    expect(Buffer.byteLength(JSON.stringify(v))).toBeLessThan(200_000);
  });
});

describe('deadLetterHeaders', () => {
  it('adds the bounded reason to the bounded original headers', () => {
    const h = deadLetterHeaders(source(null, { traceparent: '00-abc-def-01' }), 'x'.repeat(1000));
    expect(h.traceparent).toBe('00-abc-def-01');
    expect(h[HEADERS.dlqReason]).toHaveLength(500);
  });
});
