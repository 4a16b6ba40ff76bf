import { rawUsageEventSchema } from './index';

const valid = {
  specversion: '1.0',
  id: 'evt-1',
  source: 'chat-service',
  type: 'llm.completion',
  subject: 'cust-42',
  time: '2024-03-15T11:30:00Z',
  datacontenttype: 'application/json',
  data: { tokens: 120, model: 'gpt-x' },
};

/** The `path: message` pairs of a rejected event, or [] when it is accepted. */
const problems = (input: unknown): string[] => {
  const result = rawUsageEventSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('rawUsageEventSchema', () => {
  it('accepts a valid CloudEvent and keeps its fields', () => {
    expect(rawUsageEventSchema.parse(valid)).toEqual(valid);
  });

  it('accepts the minimal event (no time, data or tenant)', () => {
    const { time: _time, datacontenttype: _type, data: _data, ...minimal } = valid;
    expect(problems(minimal)).toEqual([]);
  });

  it('accepts a tenant extension attribute', () => {
    expect(rawUsageEventSchema.parse({ ...valid, tenant: 'acme' }).tenant).toBe('acme');
  });

  it('accepts RFC 3339 times with an offset or fractional seconds', () => {
    expect(problems({ ...valid, time: '2024-03-15T13:30:00+02:00' })).toEqual([]);
    expect(problems({ ...valid, time: '2024-03-15T11:30:00.123456Z' })).toEqual([]);
  });

  it('drops unknown attributes', () => {
    expect(rawUsageEventSchema.parse({ ...valid, extra: 'x' })).not.toHaveProperty('extra');
  });

  it.each([['0.3'], ['1'], ['1.0.0'], [1]])('rejects specversion %p', (specversion) => {
    expect(problems({ ...valid, specversion })).toEqual(['specversion: must be "1.0"']);
  });

  it('rejects a missing specversion', () => {
    const { specversion: _s, ...rest } = valid;
    expect(problems(rest)).toEqual(['specversion: must be "1.0"']);
  });

  it.each(['id', 'source', 'type', 'subject'])('rejects an empty %s', (field) => {
    expect(problems({ ...valid, [field]: '' })).toEqual([`${field}: must not be empty`]);
  });

  it('rejects a missing id', () => {
    const { id: _id, ...rest } = valid;
    expect(problems(rest)).toEqual(['id: Required']);
  });

  it.each(['yesterday', '2024-03-15', '2024-03-15 11:30:00Z', '2024-03-15T11:30:00', '2024-13-15T11:30:00Z', '1710502200000'])(
    'rejects the time %p',
    (time) => {
      expect(problems({ ...valid, time })).toEqual(['time: must be an RFC 3339 timestamp']);
    },
  );

  it('rejects data that is not an object', () => {
    expect(problems({ ...valid, data: 'tokens=120' }).map((p) => p.split(':')[0])).toEqual(['data']);
    expect(problems({ ...valid, data: [1, 2] }).map((p) => p.split(':')[0])).toEqual(['data']);
  });

  it('rejects an empty tenant', () => {
    expect(problems({ ...valid, tenant: '' }).map((p) => p.split(':')[0])).toEqual(['tenant']);
  });

  it('reports every problem at once', () => {
    expect(problems({ ...valid, specversion: '0.3', id: '', time: 'now' })).toEqual([
      'specversion: must be "1.0"',
      'id: must not be empty',
      'time: must be an RFC 3339 timestamp',
    ]);
  });
});
