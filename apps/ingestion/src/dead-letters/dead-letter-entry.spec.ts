import { deadLetterValue } from '@tally/kafka';
import { deadLetterTenant, readDeadLetter } from './dead-letter-entry';

const source = (headers: Record<string, string>, value: string | Buffer | null) => ({
  topic: 'usage.events.raw.v1', partition: 2, offset: '41', timestamp: '1700000000000', key: 'k', headers,
  value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
});
const dlq = (headers: Record<string, string>, value: string | Buffer | null, reason = 'schema validation failed: value: required') =>
  Buffer.from(JSON.stringify(deadLetterValue(source(headers, value), reason, undefined, new Date('2026-03-01T10:00:00Z'))));

describe('deadLetterTenant', () => {
  it('is the tenant when the header, ce_tenant and the value agree, or only some of them are given', () => {
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, null)).toBe('acme');
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '{"tenant":"acme"}')).toBe('acme');
    expect(deadLetterTenant({}, '{"tenant":"acme","customer":"c"}')).toBe('acme');
    expect(deadLetterTenant({ ce_tenant: 'acme' }, 'not json')).toBe('acme');
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '[{"tenant":"acme"},{"tenant":"acme"}]')).toBe('acme');
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '{"customer":"no tenant field"}')).toBe('acme');
  });

  it('is nobody when any two claims differ (whose data it is would be a guess)', () => {
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '{"tenant":"globex"}')).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'acme', ce_tenant: 'globex' }, null)).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '[{"tenant":"acme"},{"tenant":"globex"}]')).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '{"tenant":null}')).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'acme' }, '{"tenant":["acme"]}')).toBeNull();
    expect(deadLetterTenant({}, '{"tenant":1}')).toBeNull();
  });

  it('is nobody without a claim or with an unusable one', () => {
    expect(deadLetterTenant({}, null)).toBeNull();
    expect(deadLetterTenant({}, '{"customer":"c"}')).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': '' }, null)).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'ac\uFFFDme' }, null)).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'acme\u0000' }, null)).toBeNull();
    expect(deadLetterTenant({ 'tally-tenant': 'x'.repeat(257) }, null)).toBeNull();
    // A header of another case is another header: not a claim, and not ignored as one either.
    expect(deadLetterTenant({ 'Tally-Tenant': 'acme' }, null)).toBeNull();
  });
});

describe('readDeadLetter', () => {
  it('reads what deadLetterValue wrote, with the tenant its claims agree on', () => {
    const e = readDeadLetter(dlq({ 'tally-tenant': 'acme', traceparent: 't' }, '{"tenant":"acme","id":"e-1"}'), {}, '1700000000999');
    expect(e).toMatchObject({
      tenant: 'acme', reason: 'schema validation failed: value: required', source: { topic: 'usage.events.raw.v1', partition: 2, offset: '41', timestamp: '1700000000000' },
      key: 'k', headers: { 'tally-tenant': 'acme', traceparent: 't' }, value: '{"tenant":"acme","id":"e-1"}', valueBase64: null, truncated: false,
      deadLetteredAt: '2026-03-01T10:00:00.000Z',
    });
    expect(e.valueSize).toBe(28);
  });

  it('keeps a binary value as base64 and its tenant from the header alone', () => {
    const e = readDeadLetter(dlq({ 'tally-tenant': 'acme' }, Buffer.from([0xff, 0xfe, 0x00])), {}, '0');
    expect(e).toMatchObject({ tenant: 'acme', value: null, valueBase64: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'), valueSize: 3 });
  });

  it('keeps an unreadable DLQ message for the operator instead of failing', () => {
    for (const bytes of [Buffer.from('not json'), Buffer.from('{"reason":1}'), Buffer.from('[]'), Buffer.from('{"reason":"r"}'), Buffer.alloc(0)]) {
      const e = readDeadLetter(bytes, { 'tally-dlq-reason': 'why' }, '1700000000000');
      expect(e).toMatchObject({ tenant: null, reason: 'unreadable dead letter: why', deadLetteredAt: '2023-11-14T22:13:20.000Z', valueSize: bytes.length });
    }
    expect(readDeadLetter(Buffer.from('{"tenant":"acme"}'), { 'tally-tenant': 'acme' }, 'x').tenant).toBeNull();
  });

  it('makes NUL and lone surrogates from a foreign DLQ writer storable (Postgres refuses them in text and jsonb)', () => {
    const bytes = Buffer.from(JSON.stringify({ reason: 'r\u0000', source: { topic: 't\ud800' }, key: '\udc00k', headers: { 'h\u0000': 'v\ud800' }, value: 'a\u0000b' }));
    const e = readDeadLetter(bytes, {}, '0');
    expect(e).toMatchObject({ reason: 'r\\u0000', source: { topic: 't\uFFFD' }, key: '\uFFFDk', headers: { 'h\\u0000': 'v\uFFFD' }, value: 'a\\u0000b' });
  });

  it('takes the broker time when the dead letter carries no usable time, and drops non-text headers', () => {
    const bytes = Buffer.from(JSON.stringify({ reason: 'r', source: { topic: 't', partition: 1.5 }, headers: { a: 'b', n: 1 }, deadLetteredAt: 'soon' }));
    expect(readDeadLetter(bytes, {}, '1700000000000')).toMatchObject({ headers: { a: 'b' }, source: { topic: 't', partition: null }, deadLetteredAt: '2023-11-14T22:13:20.000Z', tenant: null });
  });
});
