import type { ZodType } from 'zod';
import { fastAcceptFor } from './fast-accept';
import { usageEventSchema, type UsageEvent } from './events/usage-event';
import { usageAggregateSchema, type UsageAggregate } from './events/usage-aggregate';
import { rawUsageEventSchema } from './events/usage-event-raw';

const event: UsageEvent = {
  eventId: 'e1',
  occurredAt: '2026-11-30T10:00:00.000Z',
  tenant: 't1',
  id: 'id-1',
  source: 'svc',
  type: 'api.call',
  subject: 'cust-1',
  time: '2026-11-30T10:00:00.000Z',
  data: { calls: 3, user: 'u1', nested: { a: [1, 2] } },
  readings: [
    { meter: 'calls', aggregation: 'SUM', value: '3', groupBy: { region: 'eu' } },
    { meter: 'requests', aggregation: 'COUNT', value: null, groupBy: {} },
    { meter: 'users', aggregation: 'UNIQUE_COUNT', value: 'u1', groupBy: {} },
  ],
};

const aggregate: UsageAggregate = {
  eventId: 'a1',
  occurredAt: '2026-11-30T10:00:01Z',
  tenant: 't1',
  customer: 'cust-1',
  meter: 'calls',
  windowKind: 'DAY',
  windowStart: '2026-11-30T00:00:00.000Z',
  windowEnd: '2026-12-01T00:00:00.000Z',
  value: '12.5',
  eventCount: 4,
  lastEventTime: '2026-11-30T10:00:00.000Z',
  version: 2,
};

const ODD_VALUES: unknown[] = [undefined, null, '', ' ', 'x', '12', '-3.5', 'NaN', 'Infinity', '1e-7', 0, -1, 1.5, 2, 1e300, NaN, true, [], {}, ['a'], { a: 'b' }, '2026-02-30T00:00:00Z', '2026-11-30T25:00:00Z', '2026-11-30T10:00:00+01:00', 'DAY', 'PERIOD', 'SUM', 'COUNT', 'UNIQUE_COUNT', 'MAX', 'TIME_WEIGHTED_SUM'];

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every value one change away from `base`: each key dropped, set to each odd value, an extra key, a __proto__ key. */
function* variants(base: Record<string, unknown>): Generator<unknown> {
  for (const key of Object.keys(base)) {
    const dropped = clone(base);
    delete dropped[key];
    yield dropped;
    for (const odd of ODD_VALUES) yield { ...clone(base), [key]: odd };
  }
  yield { ...clone(base), extra: 1 };
  yield { ...clone(base), correlationId: 'c1', causationId: 'c2' };
  yield { ...clone(base), correlationId: '' };
  yield JSON.parse(JSON.stringify(base).replace(/^\{/, '{"__proto__":{"x":1},'));
}

/** The property that makes the fast path safe: it says yes only where the schema accepts and returns the same value. */
function expectNeverAcceptsWhatTheSchemaWouldChange(schema: ZodType, value: unknown): boolean {
  const accepts = fastAcceptFor(schema)!;
  const fast = accepts(value);
  if (fast) {
    const result = schema.safeParse(value);
    expect(result.success).toBe(true);
    expect(result.success && result.data).toStrictEqual(value);
  }
  return fast;
}

describe('fast acceptance of usage.events.v1', () => {
  it('accepts the canonical events ingestion writes, exactly as the schema returns them', () => {
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(usageEventSchema, clone(event))).toBe(true);
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(usageEventSchema, { ...clone(event), readings: [] })).toBe(true);
  });

  it('says yes to no variant the schema refuses or changes (every key, odd values, extra and __proto__ keys)', () => {
    let accepted = 0;
    let refused = 0;
    const tally = (fast: boolean) => (fast ? (accepted += 1) : (refused += 1));
    for (const v of variants(event as unknown as Record<string, unknown>)) tally(expectNeverAcceptsWhatTheSchemaWouldChange(usageEventSchema, v));
    // Reading-level variants: each reading's keys too.
    for (let i = 0; i < event.readings.length; i++) {
      for (const r of variants(event.readings[i] as unknown as Record<string, unknown>)) {
        const v = clone(event) as unknown as { readings: unknown[] };
        v.readings[i] = r;
        tally(expectNeverAcceptsWhatTheSchemaWouldChange(usageEventSchema, v));
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
  });

  it('leaves to the schema what it would change: a reading without groupBy (default filled), an unknown key (stripped)', () => {
    const accepts = fastAcceptFor(usageEventSchema)!;
    const noGroupBy = clone(event) as unknown as { readings: Array<Record<string, unknown>> };
    delete noGroupBy.readings[0].groupBy;
    expect(accepts(noGroupBy)).toBe(false);
    expect(usageEventSchema.safeParse(noGroupBy).success).toBe(true);
    expect(accepts({ ...clone(event), extra: 1 })).toBe(false);
    expect(accepts({ ...clone(event), readings: [{ meter: 'calls', aggregation: 'SUM', value: 'NaN', groupBy: {} }] })).toBe(false);
    expect(accepts({ ...clone(event), data: JSON.parse('{"__proto__":{"polluted":true}}') })).toBe(false);
  });
});

describe('fast acceptance of usage.aggregates.v1', () => {
  it('accepts what aggregation publishes', () => {
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(usageAggregateSchema, clone(aggregate))).toBe(true);
  });

  it('says yes to no variant the schema refuses or changes', () => {
    let refused = 0;
    for (const v of variants(aggregate as unknown as Record<string, unknown>)) if (!expectNeverAcceptsWhatTheSchemaWouldChange(usageAggregateSchema, v)) refused++;
    expect(refused).toBeGreaterThan(100);
  });

  const prorated: UsageAggregate = { ...aggregate, windowKind: 'PERIOD', windowStart: '2026-10-31T16:00:00.000Z', windowEnd: '2026-11-30T16:00:00.000Z', heldUnitDays: '-37.5' };

  it('accepts a PERIOD aggregate with heldUnitDays (negative, zero, fractional) and one without', () => {
    for (const heldUnitDays of ['-37.5', '0', '150', '0.000001']) {
      expect(expectNeverAcceptsWhatTheSchemaWouldChange(usageAggregateSchema, { ...clone(prorated), heldUnitDays })).toBe(true);
    }
    const without = clone(prorated) as Partial<UsageAggregate>;
    delete without.heldUnitDays;
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(usageAggregateSchema, without)).toBe(true);
  });

  it('refuses a heldUnitDays that is not a decimal string, and counts it as one key only when valid', () => {
    const accepts = fastAcceptFor(usageAggregateSchema)!;
    for (const odd of [null, '', ' ', 'x', '1e3', 'NaN', '1.', '.5', 12, true, [], {}]) {
      expect(accepts({ ...clone(prorated), heldUnitDays: odd })).toBe(false);
      expect(usageAggregateSchema.safeParse({ ...clone(prorated), heldUnitDays: odd }).success).toBe(false);
    }
    // One valid optional key plus an unknown one must not balance out to the right key count.
    const swapped = clone(prorated) as unknown as Record<string, unknown>;
    delete swapped.version;
    expect(accepts({ ...swapped, extra: 1 })).toBe(false);
    expect(accepts({ ...clone(prorated), extra: '1' })).toBe(false);
    let refused = 0;
    for (const v of variants(prorated as unknown as Record<string, unknown>)) if (!expectNeverAcceptsWhatTheSchemaWouldChange(usageAggregateSchema, v)) refused++;
    expect(refused).toBeGreaterThan(100);
  });
});

describe('fast acceptance of usage.events.raw.v1 (hostile input)', () => {
  const raw = { specversion: '1.0', id: 'r-1', source: 'svc', type: 'api.call', subject: 'cust-1', time: '2026-11-30T10:00:00Z', data: { calls: 3, user: 'u1', deep: { list: [1, 'two', null, true] } } };
  const HOSTILE: unknown[] = ['a\u0000b', '\uD800', 'x'.repeat(600), 'ok', 2 ** 53 + 2, Infinity, { 'bad\u0000key': 1 }, JSON.parse('{"__proto__":{"p":1}}'), [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]];

  it('accepts a plain CloudEvent and refuses nothing the schema would accept only by changing it', () => {
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, clone(raw))).toBe(true);
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, { ...clone(raw), tenant: 'acme', datacontenttype: 'application/json' })).toBe(true);
    let refused = 0;
    for (const v of variants(raw)) if (!expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, v)) refused++;
    for (const odd of [...HOSTILE, ...ODD_VALUES]) {
      for (const key of ['id', 'source', 'type', 'subject', 'tenant', 'datacontenttype', 'time']) expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, { ...clone(raw), [key]: odd });
      if (!expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, { ...clone(raw), data: { ...raw.data, v: odd } })) refused++;
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('leaves hostile values to the schema: NUL, lone surrogates, over-long attributes, unsafe integers, deep nesting', () => {
    const accepts = fastAcceptFor(rawUsageEventSchema)!;
    expect(accepts({ ...clone(raw), id: 'a\u0000b' })).toBe(false);
    expect(accepts({ ...clone(raw), subject: '\uD800' })).toBe(false);
    expect(accepts({ ...clone(raw), source: 'x'.repeat(600) })).toBe(false);
    expect(accepts({ ...clone(raw), data: { n: 2 ** 53 + 2 } })).toBe(false);
    expect(accepts({ ...clone(raw), data: { list: HOSTILE[HOSTILE.length - 1] } })).toBe(false);
    expect(accepts({ ...clone(raw), extension: 'x' })).toBe(false);
  });

  it('counts keys present with an undefined value as the schema keeps them (values a binary-mode decoder builds)', () => {
    expect(expectNeverAcceptsWhatTheSchemaWouldChange(rawUsageEventSchema, { ...clone(raw), time: undefined, tenant: undefined, data: undefined })).toBe(true);
  });
});
