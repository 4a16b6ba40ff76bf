import { CloudEvent, Kafka } from 'cloudevents';
import { rawUsageEventSchema } from './index';
import { binaryModeData, decodeRawUsageEventMessage, isJsonMediaType, parseMediaType, UndecodableEventError } from './cloudevents-binding';

const attributes = {
  id: 'evt-1',
  source: 'chat-service',
  type: 'llm.completion',
  subject: 'cust-42',
  time: '2024-03-15T11:30:00.000Z',
  datacontenttype: 'application/json',
  data: { tokens: 120, model: 'gpt-x' },
};

/** A Kafka message as kafkajs would deliver it to the decoder: value bytes and string headers. */
const asDelivered = (message: { value: unknown; headers: Record<string, unknown> }) => ({
  value: message.value === undefined || message.value === null ? null : Buffer.from(typeof message.value === 'string' ? message.value : JSON.stringify(message.value)),
  headers: Object.fromEntries(Object.entries(message.headers).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])),
});

const decode = (value: Buffer | string | null, headers: Record<string, unknown> = {}) =>
  decodeRawUsageEventMessage(typeof value === 'string' ? Buffer.from(value) : value, headers);
const reasonOf = (value: Buffer | string | null, headers: Record<string, unknown> = {}) => {
  try {
    decode(value, headers);
  } catch (e) {
    expect(e).toBeInstanceOf(UndecodableEventError);
    return (e as Error).message;
  }
  throw new Error('expected the message to be refused');
};

describe('decodeRawUsageEventMessage (CloudEvents Kafka protocol binding)', () => {
  it('reads the SDK\'s structured mode', () => {
    const message = asDelivered(Kafka.structured(new CloudEvent(attributes)));
    expect(message.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    const decoded = decode(message.value, message.headers);
    expect(rawUsageEventSchema.parse(decoded)).toEqual({ specversion: '1.0', ...attributes });
  });

  it('reads the SDK\'s binary mode (ce_* headers, content-type, data as the value)', () => {
    const message = asDelivered(Kafka.binary(new CloudEvent({ ...attributes, tenant: 'acme' })));
    expect(message.headers).toMatchObject({ ce_id: 'evt-1', ce_specversion: '1.0', 'content-type': 'application/json' });
    expect(rawUsageEventSchema.parse(decode(message.value, message.headers))).toEqual({ specversion: '1.0', ...attributes, tenant: 'acme' });
  });

  it('reads a plain JSON event without headers (the original raw-topic format)', () => {
    expect(decode(JSON.stringify({ specversion: '1.0', id: 'x' }))).toEqual({ specversion: '1.0', id: 'x' });
    expect(decode(JSON.stringify({ id: 'x' }), { 'content-type': 'application/json' })).toEqual({ id: 'x' });
  });

  it('takes binary mode from any ce_ header, whatever the letter case, and ignores other extensions', () => {
    const decoded = decode('{"n":1}', { CE_ID: 'a', Ce_Source: 's', ce_type: 't', ce_subject: 'c', ce_specversion: '1.0', ce_partitionkey: 'k', ce_traceparent: 'x' });
    expect(decoded).toEqual({ id: 'a', source: 's', type: 't', subject: 'c', specversion: '1.0', data: { n: 1 } });
  });

  it('reads binary mode without data (an event only COUNT meters read)', () => {
    expect(decode(null, { ce_id: 'a', ce_specversion: '1.0' })).toEqual({ id: 'a', specversion: '1.0' });
    expect(decode(Buffer.alloc(0), { ce_id: 'a', ce_specversion: '1.0' })).toEqual({ id: 'a', specversion: '1.0' });
  });

  it('uses ce_datacontenttype when there is no content-type header, and +json types', () => {
    expect(decode('{"n":1}', { ce_id: 'a', ce_datacontenttype: 'application/vnd.usage+json' })).toEqual({ id: 'a', datacontenttype: 'application/vnd.usage+json', data: { n: 1 } });
  });

  it('leaves missing attributes to the schema, which names them', () => {
    const decoded = decode('{"n":1}', { ce_id: 'a', ce_source: 's' });
    const result = rawUsageEventSchema.safeParse(decoded);
    expect(result.success).toBe(false);
    expect(!result.success && result.error.issues.map((i) => i.path.join('.'))).toEqual(['specversion', 'type', 'subject']);
  });

  describe('refuses, with a reason for the dead letter', () => {
    it.each<[string, string | Buffer | null, Record<string, unknown>, RegExp]>([
      ['binary data that is not JSON', 'tokens=5', { ce_id: 'a', 'content-type': 'text/plain' }, /^\/datacontenttype: data of content type "text\/plain" is not accepted: meters read JSON data/],
      ['binary data of an octet-stream', Buffer.from([1, 2, 3]), { ce_id: 'a', 'content-type': 'application/octet-stream' }, /content type "application\/octet-stream" is not accepted/],
      ['binary data declared JSON that is not', 'tokens=5', { ce_id: 'a', 'content-type': 'application/json' }, /^\/data: is not valid JSON/],
      ['binary data that is an array', '[1,2]', { ce_id: 'a' }, /^\/data: must be a JSON object/],
      ['binary data that is a string', '"x"', { ce_id: 'a' }, /^\/data: must be a JSON object/],
      ['binary data in Latin-1', Buffer.from('{"s":"caf\u00e9"}', 'latin1'), { ce_id: 'a' }, /^\/data: is not valid UTF-8 \(byte 0xe9 at offset 9\)/],
      ['binary data with a charset other than UTF-8', '{}', { ce_id: 'a', 'content-type': 'application/json; charset=iso-8859-1' }, /charset "iso-8859-1" is not supported/],
      ['binary data nested too deep', '['.repeat(100_000), { ce_id: 'a' }, /^\/data\/0\/0.*: nests deeper than 31 levels/],
      ['a ce_ header that is not UTF-8 (lossily decoded by the consumer)', '{}', { ce_id: 'caf\uFFFD' }, /^header ce_id is not valid UTF-8/],
      ['a ce_ header given as non-UTF-8 bytes', '{}', { ce_subject: Buffer.from([0x63, 0xe9]) }, /^header ce_subject is not valid UTF-8$/],
      ['a repeated ce_ header', '{}', { ce_id: ['a', 'b'] }, /^header ce_id appears 2 times/],
      ['batched mode', '[]', { 'content-type': 'application/cloudevents-batch+json' }, /batched mode is not defined for Kafka/],
      ['a non-JSON event format', '<event/>', { 'content-type': 'application/cloudevents+xml' }, /only the JSON event format/],
      ['a structured event of another content type', 'x', { 'content-type': 'text/plain' }, /a structured event must be JSON/],
      ['a structured event in UTF-16', Buffer.from('{"a":1}', 'utf16le'), {}, /^\(value\): is not valid JSON/],
      ['a structured event with a charset other than UTF-8', '{}', { 'content-type': 'application/cloudevents+json; charset=utf-16' }, /charset "utf-16" is not supported/],
      ['an empty structured event', null, {}, /^empty message value/],
      ['a structured event that is not an object', '[{"id":"a"}]', {}, /^\(value\): a structured event must be a JSON object/],
      ['a structured event with a duplicate id', '{"id":"a","id":"b"}', {}, /^\/id: is a duplicate member name/],
      ['a structured event nested 100,000 deep', '{"data":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', {}, /nests deeper than 32 levels/],
      ['a structured event with NUL in a data key', '{"data":{"a\\u0000":1}}', {}, /^\/data\/a.: the member name contains a NUL/],
      ['a structured event with an unpaired surrogate', '{"subject":"\\ud800"}', {}, /^\/subject: contains an unpaired UTF-16 surrogate/],
      ['a structured event with an inexact number', '{"data":{"tokens":12345678901234567890}}', {}, /^\/data\/tokens: 12345678901234567890 is beyond ±9007199254740991/],
    ])('%s', (_what, value, headers, reason) => {
      expect(reasonOf(value, headers)).toMatch(reason);
    });
  });
});

describe('rawUsageEventSchema input limits (whichever binding the event came in)', () => {
  const valid = { specversion: '1.0', ...attributes };
  const problems = (input: unknown) => {
    const result = rawUsageEventSchema.safeParse(input);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it.each([
    ['id', 512],
    ['source', 512],
    ['type', 256],
    ['subject', 256],
    ['tenant', 256],
    ['datacontenttype', 256],
  ] as const)('caps %s at %i UTF-8 bytes', (field, max) => {
    expect(problems({ ...valid, [field]: 'a'.repeat(max) })).toEqual([]);
    expect(problems({ ...valid, [field]: 'a'.repeat(max + 1) })).toEqual([`${field}: is ${max + 1} bytes (UTF-8); at most ${max} are accepted`]);
    expect(problems({ ...valid, [field]: '€'.repeat(Math.ceil((max + 1) / 3)) })).toHaveLength(1);
  });

  it.each(['id', 'source', 'type', 'subject', 'tenant'])('refuses NUL and unpaired surrogates in %s (e.g. from a binary-mode header)', (field) => {
    expect(problems({ ...valid, [field]: 'a\u0000' })).toEqual([`${field}: contains a NUL character (U+0000) at index 1`]);
    expect(problems({ ...valid, [field]: 'a\uDFFF' })).toEqual([`${field}: contains an unpaired UTF-16 surrogate (U+DFFF) at index 1`]);
  });

  it('refuses NUL, surrogates, unsafe integers and deep nesting inside data, with paths', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(problems({ ...valid, data: { 'k\u0000': 1, v: ['\uD800'], n: 2 ** 60, deep } })).toEqual([
      'data.k\u0000: the key contains a NUL character (U+0000) at index 1',
      'data.v.0: contains an unpaired UTF-16 surrogate (U+D800) at index 0',
      expect.stringMatching(/^data\.n: .*2\^53/),
      expect.stringMatching(/^data\.deep(\.0){30}: nests deeper than 31 levels$/),
    ]);
  });
});

describe('media types', () => {
  it('parses type and charset', () => {
    expect(parseMediaType(' Application/JSON ; Charset="UTF-8"')).toEqual({ type: 'application/json', charset: 'utf-8' });
    expect(parseMediaType(undefined)).toEqual({ type: '' });
  });

  it.each([
    ['application/json', true],
    ['text/json', true],
    ['application/cloudevents+json', true],
    ['application/vnd.api+json', true],
    ['text/plain', false],
    ['application/jsonx', false],
    ['application/json+xml', false],
  ])('%s is JSON: %p', (type, json) => {
    expect(isJsonMediaType(type)).toBe(json);
  });

  it('binaryModeData gives 415 for non-JSON and 400 for bad JSON', () => {
    expect(binaryModeData('text/csv', Buffer.from('a,b'))).toMatchObject({ ok: false, error: { status: 415 } });
    expect(binaryModeData('application/json', Buffer.from('{'))).toMatchObject({ ok: false, error: { status: 400, pointer: '/data' } });
    expect(binaryModeData(undefined, Buffer.from('{"a":1}'))).toEqual({ ok: true, data: { a: 1 } });
  });
});
