import type { RawUsageEvent } from '@tally/contracts';
import type { MeterRule } from '../meters/meter-readings';
import { normalizeUsageEvent, usageEventId } from './normalize-usage-event';

const NOW = new Date('2024-03-15T12:00:00.000Z');
const MIN = 60_000;
const HOUR = 3_600_000;

const raw = (over: Partial<RawUsageEvent> = {}): RawUsageEvent => ({
  specversion: '1.0',
  id: 'evt-1',
  source: 'chat-service',
  type: 'llm.completion',
  subject: 'cust-42',
  time: '2024-03-15T11:30:00.000Z',
  data: { tokens: 120, model: 'gpt-x' },
  ...over,
});

const meters: MeterRule[] = [
  { slug: 'tokens', eventType: 'llm.completion', aggregation: 'SUM', valueProperty: '$.data.tokens', groupBy: { model: '$.data.model' } },
  { slug: 'calls', eventType: 'llm.completion', aggregation: 'COUNT', valueProperty: null, groupBy: {} },
  { slug: 'bytes', eventType: 'storage.write', aggregation: 'SUM', valueProperty: '$.data.bytes', groupBy: {} },
];

const options = (over: Partial<Parameters<typeof normalizeUsageEvent>[3]> = {}) => ({
  now: NOW,
  fallbackTime: new Date('2024-03-15T11:59:00.000Z'),
  ...over,
});

/** The time `ms` from NOW, as the RFC 3339 string a producer would send. */
const fromNow = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

describe('normalizeUsageEvent', () => {
  it('builds the canonical event with the tenant stamped and the readings of its type', () => {
    const result = normalizeUsageEvent(raw(), 'acme', meters, options());
    expect(result).toEqual({
      ok: true,
      event: {
        eventId: usageEventId('acme', 'chat-service', 'evt-1'),
        occurredAt: '2024-03-15T11:30:00.000Z',
        tenant: 'acme',
        id: 'evt-1',
        source: 'chat-service',
        type: 'llm.completion',
        subject: 'cust-42',
        time: '2024-03-15T11:30:00.000Z',
        data: { tokens: 120, model: 'gpt-x' },
        readings: [
          { meter: 'tokens', aggregation: 'SUM', value: '120', groupBy: { model: 'gpt-x' } },
          { meter: 'calls', aggregation: 'COUNT', value: null, groupBy: {} },
        ],
      },
    });
  });

  it('normalises a time with an offset to UTC', () => {
    const result = normalizeUsageEvent(raw({ time: '2024-03-15T13:30:00+02:00' }), 'acme', meters, options());
    expect(result.ok && result.event.time).toBe('2024-03-15T11:30:00.000Z');
    expect(result.ok && result.event.occurredAt).toBe('2024-03-15T11:30:00.000Z');
  });

  it('uses fallbackTime when the event has no time', () => {
    const result = normalizeUsageEvent(raw({ time: undefined }), 'acme', meters, options());
    expect(result.ok && result.event.time).toBe('2024-03-15T11:59:00.000Z');
  });

  it('uses an empty object when the event has no data', () => {
    const countOnly = meters.filter((m) => m.slug === 'calls');
    const result = normalizeUsageEvent(raw({ data: undefined }), 'acme', countOnly, options());
    expect(result.ok && result.event.data).toEqual({});
    expect(result.ok && result.event.readings).toEqual([{ meter: 'calls', aggregation: 'COUNT', value: null, groupBy: {} }]);
  });

  it('accepts an event of a type without meters, with no readings', () => {
    const result = normalizeUsageEvent(raw({ type: 'page.view' }), 'acme', meters, options());
    expect(result.ok && result.event.readings).toEqual([]);
  });

  describe('future events', () => {
    it('accepts up to 5 minutes in the future by default', () => {
      expect(normalizeUsageEvent(raw({ time: fromNow(5 * MIN) }), 'acme', meters, options()).ok).toBe(true);
    });

    it('rejects more than 5 minutes in the future by default', () => {
      expect(normalizeUsageEvent(raw({ time: fromNow(5 * MIN + 1) }), 'acme', meters, options())).toEqual({
        ok: false,
        errors: ['time: more than 5 min in the future'],
      });
    });

    it('applies the future check to the fallback time too', () => {
      const result = normalizeUsageEvent(raw({ time: undefined }), 'acme', meters, options({ fallbackTime: new Date(NOW.getTime() + 10 * MIN) }));
      expect(result).toEqual({ ok: false, errors: ['time: more than 5 min in the future'] });
    });

    it('honours a custom maxFutureMs', () => {
      const o = options({ maxFutureMs: MIN });
      expect(normalizeUsageEvent(raw({ time: fromNow(MIN) }), 'acme', meters, o).ok).toBe(true);
      expect(normalizeUsageEvent(raw({ time: fromNow(2 * MIN) }), 'acme', meters, o)).toEqual({
        ok: false,
        errors: ['time: more than 1 min in the future'],
      });
    });
  });

  describe('late events', () => {
    it('accepts events exactly 31 days old by default', () => {
      expect(normalizeUsageEvent(raw({ time: fromNow(-31 * 24 * HOUR) }), 'acme', meters, options()).ok).toBe(true);
    });

    it('rejects events older than 31 days (744 h) by default', () => {
      expect(normalizeUsageEvent(raw({ time: fromNow(-31 * 24 * HOUR - 1) }), 'acme', meters, options())).toEqual({
        ok: false,
        errors: ['time: older than the maximum lateness of 744 h'],
      });
    });

    it('honours a custom maxLatenessMs', () => {
      const o = options({ maxLatenessMs: 2 * HOUR });
      expect(normalizeUsageEvent(raw({ time: fromNow(-2 * HOUR) }), 'acme', meters, o).ok).toBe(true);
      expect(normalizeUsageEvent(raw({ time: fromNow(-3 * HOUR) }), 'acme', meters, o)).toEqual({
        ok: false,
        errors: ['time: older than the maximum lateness of 2 h'],
      });
    });
  });

  it('propagates reading errors', () => {
    expect(normalizeUsageEvent(raw({ data: { tokens: 'lots' } }), 'acme', meters, options())).toEqual({
      ok: false,
      errors: ['data: meter "tokens" needs a number at $.data.tokens'],
    });
  });

  it('reports a time error and reading errors together', () => {
    expect(normalizeUsageEvent(raw({ time: fromNow(HOUR), data: {} }), 'acme', meters, options())).toEqual({
      ok: false,
      errors: ['time: more than 5 min in the future', 'data: meter "tokens" needs a number at $.data.tokens'],
    });
  });
});

describe('usageEventId', () => {
  it('is 32 lower-case hex characters', () => {
    expect(usageEventId('acme', 'chat-service', 'evt-1')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('is the first 128 bits of sha256("<tenant>\\0<source>\\0<id>")', () => {
    // printf 'acme\0chat-service\0evt-1' | sha256sum | cut -c1-32
    expect(usageEventId('acme', 'chat-service', 'evt-1')).toBe('a32bb4dfebbea9ca9a0fd2446f826e49');
  });

  it('is deterministic: a producer retry gets the same id', () => {
    expect(usageEventId('acme', 'chat-service', 'evt-1')).toBe(usageEventId('acme', 'chat-service', 'evt-1'));
    const once = normalizeUsageEvent(raw(), 'acme', meters, options());
    const again = normalizeUsageEvent(raw({ time: '2024-03-15T11:31:00.000Z' }), 'acme', meters, options({ now: new Date('2024-03-15T12:05:00.000Z') }));
    expect(once.ok && once.event.eventId).toBe('a32bb4dfebbea9ca9a0fd2446f826e49');
    expect(again.ok && again.event.eventId).toBe('a32bb4dfebbea9ca9a0fd2446f826e49');
  });

  it('differs when the tenant, the source or the id differs', () => {
    const ids = [
      usageEventId('acme', 'chat-service', 'evt-1'),
      usageEventId('globex', 'chat-service', 'evt-1'),
      usageEventId('acme', 'search-service', 'evt-1'),
      usageEventId('acme', 'chat-service', 'evt-2'),
    ];
    expect(new Set(ids).size).toBe(4);
  });

  it('does not confuse parts that concatenate to the same text', () => {
    expect(usageEventId('ab', 'c', 'd')).not.toBe(usageEventId('a', 'bc', 'd'));
    expect(usageEventId('a', 'b', 'cd')).not.toBe(usageEventId('a', 'bc', 'd'));
  });
});
