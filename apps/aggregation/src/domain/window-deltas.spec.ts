import type { Aggregation, MeterReading, UsageEvent } from '@tally/contracts';
import { computeWindowDeltas, windowDeltaKey, windowValue, type WindowDelta } from './window-deltas';

let seq = 0;
function event(time: string, readings: Array<Pick<MeterReading, 'meter' | 'aggregation' | 'value'>>, over: Partial<UsageEvent> = {}): UsageEvent {
  seq += 1;
  return {
    eventId: `evt-${seq}`,
    occurredAt: time,
    tenant: 'acme',
    id: `raw-${seq}`,
    source: 'api',
    type: 'api.call',
    subject: 'cust-1',
    time,
    data: {},
    readings: readings.map((r) => ({ ...r, groupBy: {} })),
    ...over,
  };
}

const reading = (aggregation: Aggregation, value: string | null, meter = 'm') => ({ meter, aggregation, value });

/** The single delta of a kind; fails the test when there is not exactly one. */
function only(deltas: Map<string, WindowDelta>, kind: 'DAY' | 'PERIOD'): WindowDelta {
  const found = [...deltas.values()].filter((d) => d.window.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
}

/** What windowValue reports for a freshly computed delta, as if stored and read back. */
function reported(d: WindowDelta): string {
  return windowValue(d.aggregation, {
    sum: d.sum.toFixed(),
    count: d.count,
    min: d.min === null ? null : d.min.toFixed(),
    max: d.max === null ? null : d.max.toFixed(),
    latest: d.latest?.value ?? null,
    distinct: d.distinctValues.size,
  });
}

describe('computeWindowDeltas', () => {
  it('returns nothing for no events, and nothing for an event without readings', () => {
    expect(computeWindowDeltas([]).size).toBe(0);
    expect(computeWindowDeltas([event('2024-03-15T10:00:00.000Z', [])]).size).toBe(0);
  });

  it('gives one event a DAY and a PERIOD delta keyed by tenant, customer, meter and window', () => {
    const e = event('2024-03-15T10:00:00.000Z', [reading('SUM', '5', 'tokens')], { tenant: 't1', subject: 'c1' });
    const deltas = computeWindowDeltas([e]);
    expect(deltas.size).toBe(2);
    const day = only(deltas, 'DAY');
    const period = only(deltas, 'PERIOD');
    expect(day.window.start.toISOString()).toBe('2024-03-15T00:00:00.000Z');
    expect(day.window.end.toISOString()).toBe('2024-03-16T00:00:00.000Z');
    expect(period.window.start.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(period.window.end.toISOString()).toBe('2024-04-01T00:00:00.000Z');
    for (const d of [day, period]) {
      expect(d).toMatchObject({ tenant: 't1', customer: 'c1', meter: 'tokens', aggregation: 'SUM', count: 1 });
      expect(d.sum.toFixed()).toBe('5');
      expect(deltas.get(windowDeltaKey(d))).toBe(d);
    }
    expect([...deltas.keys()]).toEqual([
      `t1\u0000c1\u0000tokens\u0000DAY\u0000${Date.parse('2024-03-15T00:00:00.000Z')}`,
      `t1\u0000c1\u0000tokens\u0000PERIOD\u0000${Date.parse('2024-03-01T00:00:00.000Z')}`,
    ]);
  });

  describe('SUM', () => {
    it('adds decimals exactly (0.1 + 0.2 is 0.3)', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-15T10:00:00.000Z', [reading('SUM', '0.1')]),
        event('2024-03-15T11:00:00.000Z', [reading('SUM', '0.2')]),
      ]);
      const day = only(deltas, 'DAY');
      expect(day.sum.toFixed()).toBe('0.3');
      expect(day.count).toBe(2);
      expect(reported(day)).toBe('0.3');
    });

    it('adds values beyond double precision without rounding', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-15T10:00:00.000Z', [reading('SUM', '123456789012345678901234567890.123456789')]),
        event('2024-03-15T10:00:01.000Z', [reading('SUM', '0.000000001')]),
        event('2024-03-15T10:00:02.000Z', [reading('SUM', '9007199254740993')]),
      ]);
      expect(only(deltas, 'PERIOD').sum.toFixed()).toBe('123456789012354686100489308883.12345679');
    });

    it('adds negative values (corrections)', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-15T10:00:00.000Z', [reading('SUM', '10.5')]),
        event('2024-03-15T10:00:01.000Z', [reading('SUM', '-2.25')]),
      ]);
      expect(only(deltas, 'DAY').sum.toFixed()).toBe('8.25');
    });
  });

  it('COUNT counts events whose value is null and leaves the numeric accumulators empty', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-15T10:00:00.000Z', [reading('COUNT', null)]),
      event('2024-03-15T10:05:00.000Z', [reading('COUNT', null)]),
      event('2024-03-15T10:10:00.000Z', [reading('COUNT', null)]),
    ]);
    const day = only(deltas, 'DAY');
    expect(day.count).toBe(3);
    expect(day.sum.toFixed()).toBe('0');
    expect(day.min).toBeNull();
    expect(day.max).toBeNull();
    expect(day.latest).toBeNull();
    expect(day.distinctValues.size).toBe(0);
    expect(reported(day)).toBe('3');
  });

  it('MIN and MAX compare numerically, not as strings', () => {
    const values = ['9', '10', '-3.5', '100', '0.25'];
    const batch = (agg: Aggregation) => values.map((v, i) => event(`2024-03-15T10:00:0${i}.000Z`, [reading(agg, v)]));
    const min = only(computeWindowDeltas(batch('MIN')), 'DAY');
    const max = only(computeWindowDeltas(batch('MAX')), 'DAY');
    expect(min.min?.toFixed()).toBe('-3.5');
    expect(min.max?.toFixed()).toBe('100');
    expect(reported(min)).toBe('-3.5');
    expect(reported(max)).toBe('100');
  });

  it('AVG keeps the sum and the count', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-15T10:00:00.000Z', [reading('AVG', '1')]),
      event('2024-03-15T10:00:01.000Z', [reading('AVG', '2')]),
      event('2024-03-15T10:00:02.000Z', [reading('AVG', '4')]),
      event('2024-03-15T10:00:03.000Z', [reading('AVG', '0.5')]),
    ]);
    const day = only(deltas, 'DAY');
    expect(day.sum.toFixed()).toBe('7.5');
    expect(day.count).toBe(4);
    expect(reported(day)).toBe('1.875');
  });

  describe('LATEST', () => {
    it('keeps the value of the latest event time, not the last to arrive', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-15T12:00:00.000Z', [reading('LATEST', '42')]),
        event('2024-03-15T09:00:00.000Z', [reading('LATEST', '7')]),
        event('2024-03-15T11:00:00.000Z', [reading('LATEST', '13')]),
      ]);
      const day = only(deltas, 'DAY');
      expect(day.latest).toEqual({ value: '42', time: new Date('2024-03-15T12:00:00.000Z') });
      expect(reported(day)).toBe('42');
    });

    it('lets the later-processed event win a tie on event time', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-15T12:00:00.000Z', [reading('LATEST', '1')]),
        event('2024-03-15T12:00:00.000Z', [reading('LATEST', '2')]),
      ]);
      expect(only(deltas, 'DAY').latest?.value).toBe('2');
    });

    it('takes the latest per window: the month sees the newest day', () => {
      const deltas = computeWindowDeltas([
        event('2024-03-20T08:00:00.000Z', [reading('LATEST', '200')]),
        event('2024-03-10T23:00:00.000Z', [reading('LATEST', '100')]),
      ]);
      const days = [...deltas.values()].filter((d) => d.window.kind === 'DAY');
      expect(days.map((d) => [d.window.start.toISOString(), d.latest?.value])).toEqual([
        ['2024-03-20T00:00:00.000Z', '200'],
        ['2024-03-10T00:00:00.000Z', '100'],
      ]);
      expect(only(deltas, 'PERIOD').latest?.value).toBe('200');
    });
  });

  it('UNIQUE_COUNT collects the distinct values, not a sum', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-15T10:00:00.000Z', [reading('UNIQUE_COUNT', 'user-a')]),
      event('2024-03-15T10:00:01.000Z', [reading('UNIQUE_COUNT', 'user-b')]),
      event('2024-03-15T10:00:02.000Z', [reading('UNIQUE_COUNT', 'user-a')]),
      event('2024-03-15T10:00:03.000Z', [reading('UNIQUE_COUNT', '7')]),
    ]);
    const day = only(deltas, 'DAY');
    expect([...day.distinctValues].sort()).toEqual(['7', 'user-a', 'user-b']);
    expect(day.count).toBe(4);
    expect(day.sum.toFixed()).toBe('0');
    expect(day.min).toBeNull();
    expect(day.latest).toBeNull();
    expect(reported(day)).toBe('3');
  });

  it('merges several events of one customer and meter into one delta per window', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-15T01:00:00.000Z', [reading('SUM', '3')]),
      event('2024-03-15T02:00:00.000Z', [reading('SUM', '4')]),
      event('2024-03-15T03:00:00.000Z', [reading('SUM', '5')]),
    ]);
    expect(deltas.size).toBe(2);
    const day = only(deltas, 'DAY');
    expect(day.count).toBe(3);
    expect(day.sum.toFixed()).toBe('12');
    expect(day.min?.toFixed()).toBe('3');
    expect(day.max?.toFixed()).toBe('5');
  });

  it('splits events of different days into DAY windows but one PERIOD window', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-01T00:00:00.000Z', [reading('SUM', '1')]),
      event('2024-03-15T12:00:00.000Z', [reading('SUM', '2')]),
      event('2024-03-31T23:59:59.999Z', [reading('SUM', '4')]),
    ]);
    expect(deltas.size).toBe(4);
    const days = [...deltas.values()].filter((d) => d.window.kind === 'DAY');
    expect(days.map((d) => [d.window.start.toISOString(), d.sum.toFixed(), d.count])).toEqual([
      ['2024-03-01T00:00:00.000Z', '1', 1],
      ['2024-03-15T00:00:00.000Z', '2', 1],
      ['2024-03-31T00:00:00.000Z', '4', 1],
    ]);
    const period = only(deltas, 'PERIOD');
    expect(period.window.start.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(period.sum.toFixed()).toBe('7');
    expect(period.count).toBe(3);
  });

  it('puts events either side of a month boundary into different PERIOD windows', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-31T23:59:59.999Z', [reading('SUM', '1')]),
      event('2024-04-01T00:00:00.000Z', [reading('SUM', '2')]),
    ]);
    const periods = [...deltas.values()].filter((d) => d.window.kind === 'PERIOD');
    expect(periods.map((d) => [d.window.start.toISOString(), d.sum.toFixed()])).toEqual([
      ['2024-03-01T00:00:00.000Z', '1'],
      ['2024-04-01T00:00:00.000Z', '2'],
    ]);
  });

  it('keeps tenants, customers and meters apart', () => {
    const t = '2024-03-15T10:00:00.000Z';
    const deltas = computeWindowDeltas([
      event(t, [reading('SUM', '1', 'tokens'), reading('COUNT', null, 'calls')], { tenant: 'a', subject: 'c1' }),
      event(t, [reading('SUM', '2', 'tokens')], { tenant: 'a', subject: 'c2' }),
      event(t, [reading('SUM', '4', 'tokens')], { tenant: 'b', subject: 'c1' }),
    ]);
    const days = [...deltas.values()].filter((d) => d.window.kind === 'DAY');
    expect(deltas.size).toBe(8);
    expect(days.map((d) => [d.tenant, d.customer, d.meter, d.aggregation, d.sum.toFixed(), d.count])).toEqual([
      ['a', 'c1', 'tokens', 'SUM', '1', 1],
      ['a', 'c1', 'calls', 'COUNT', '0', 1],
      ['a', 'c2', 'tokens', 'SUM', '2', 1],
      ['b', 'c1', 'tokens', 'SUM', '4', 1],
    ]);
  });

  it('tracks lastEventTime and lastEventId by event time, not arrival order', () => {
    const newest = event('2024-03-15T18:00:00.000Z', [reading('SUM', '1')], { eventId: 'newest' });
    const oldest = event('2024-03-15T06:00:00.000Z', [reading('SUM', '1')], { eventId: 'oldest' });
    const middle = event('2024-03-15T12:00:00.000Z', [reading('SUM', '1')], { eventId: 'middle' });
    const deltas = computeWindowDeltas([middle, newest, oldest]);
    for (const d of deltas.values()) {
      expect(d.lastEventTime.toISOString()).toBe('2024-03-15T18:00:00.000Z');
      expect(d.lastEventId).toBe('newest');
    }
  });

  it('tracks lastEventId per window: a DAY sees its own newest event, the PERIOD the overall newest', () => {
    const deltas = computeWindowDeltas([
      event('2024-03-20T00:00:00.000Z', [reading('COUNT', null)], { eventId: 'late-day' }),
      event('2024-03-10T00:00:00.000Z', [reading('COUNT', null)], { eventId: 'early-day' }),
    ]);
    const days = [...deltas.values()].filter((d) => d.window.kind === 'DAY');
    expect(days.map((d) => [d.window.start.toISOString(), d.lastEventId, d.lastEventTime.toISOString()])).toEqual([
      ['2024-03-20T00:00:00.000Z', 'late-day', '2024-03-20T00:00:00.000Z'],
      ['2024-03-10T00:00:00.000Z', 'early-day', '2024-03-10T00:00:00.000Z'],
    ]);
    expect(only(deltas, 'PERIOD').lastEventId).toBe('late-day');
  });

  it('lets the later-processed event be lastEventId on a tie of event time', () => {
    const t = '2024-03-15T10:00:00.000Z';
    const deltas = computeWindowDeltas([
      event(t, [reading('COUNT', null)], { eventId: 'first' }),
      event(t, [reading('COUNT', null)], { eventId: 'second' }),
    ]);
    expect(only(deltas, 'DAY').lastEventId).toBe('second');
  });
});

describe('computeWindowDeltas with billing periods', () => {
  const march15 = { start: new Date('2024-03-15T00:00:00.000Z'), end: new Date('2024-04-15T00:00:00.000Z') };

  it("uses each customer's own billing period for the PERIOD window, asking by tenant and customer", () => {
    const asked: string[] = [];
    const periodsOf = (tenant: string, customer: string) => {
      asked.push(`${tenant}/${customer}`);
      return tenant === 'acme' && customer === 'sub' ? [march15] : [];
    };
    const deltas = computeWindowDeltas(
      [
        event('2024-03-20T10:00:00.000Z', [reading('SUM', '1')], { subject: 'sub' }),
        event('2024-03-20T10:00:00.000Z', [reading('SUM', '2')], { subject: 'no-sub' }),
        event('2024-03-10T10:00:00.000Z', [reading('SUM', '4')], { subject: 'sub' }),
      ],
      periodsOf,
    );
    const periods = [...deltas.values()].filter((d) => d.window.kind === 'PERIOD');
    expect(periods.map((d) => [d.customer, d.window.start.toISOString(), d.window.end.toISOString(), d.sum.toFixed()])).toEqual([
      ['sub', '2024-03-15T00:00:00.000Z', '2024-04-15T00:00:00.000Z', '1'],
      ['no-sub', '2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z', '2'],
      // Before the known period: the calendar month.
      ['sub', '2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z', '4'],
    ]);
    expect(asked).toEqual(['acme/sub', 'acme/no-sub', 'acme/sub']);
  });

  it('merges events of different calendar months within one billing period', () => {
    const deltas = computeWindowDeltas(
      [event('2024-03-31T23:00:00.000Z', [reading('SUM', '1.5')]), event('2024-04-02T01:00:00.000Z', [reading('SUM', '2.5')])],
      () => [march15],
    );
    expect(deltas.size).toBe(3);
    const period = only(deltas, 'PERIOD');
    expect(period.window.start.toISOString()).toBe('2024-03-15T00:00:00.000Z');
    expect(period.sum.toFixed()).toBe('4');
    expect(period.count).toBe(2);
  });
});

describe('windowValue', () => {
  const acc = { sum: '10.50', count: 4, min: '-1.0', max: '7.250', latest: '3.10', distinct: 2 };
  const empty = { sum: '0', count: 0, min: null, max: null, latest: null, distinct: 0 };

  it.each<[Aggregation, string]>([
    ['SUM', '10.5'],
    ['COUNT', '4'],
    ['MIN', '-1'],
    ['MAX', '7.25'],
    ['AVG', '2.625'],
    ['LATEST', '3.1'],
    ['UNIQUE_COUNT', '2'],
  ])('reports %s from the stored accumulators as %s', (aggregation, expected) => {
    expect(windowValue(aggregation, acc)).toBe(expected);
  });

  it.each<Aggregation>(['SUM', 'COUNT', 'MIN', 'MAX', 'AVG', 'LATEST', 'UNIQUE_COUNT'])(
    'reports %s of an empty accumulator as 0',
    (aggregation) => {
      expect(windowValue(aggregation, empty)).toBe('0');
    },
  );

  it('divides AVG exactly where it terminates and to 60 significant digits where it does not', () => {
    expect(windowValue('AVG', { ...empty, sum: '1', count: 8 })).toBe('0.125');
    expect(windowValue('AVG', { ...empty, sum: '10', count: 3 })).toBe('3.' + '3'.repeat(59));
  });

  it('never uses exponent notation', () => {
    expect(windowValue('SUM', { ...empty, sum: '1e+25' })).toBe('10000000000000000000000000');
    expect(windowValue('SUM', { ...empty, sum: '0.0000000001' })).toBe('0.0000000001');
    expect(windowValue('MAX', { ...empty, max: '123456789012345678901234567890.5' })).toBe('123456789012345678901234567890.5');
  });
});
