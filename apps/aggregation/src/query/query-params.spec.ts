import { countWindows, csvField, parseUsageQuery, unwindowedLabel, usageCsv, windowLimitProblem, zeroCountRows } from './query-params';

const RFC3339 = 'must be an RFC 3339 timestamp';

const parse = (params: Record<string, string | string[] | undefined>) => parseUsageQuery('api-calls', params);
const query = (params: Record<string, string | string[] | undefined>) => {
  const result = parse(params);
  if (!result.ok) throw new Error(`expected a valid query, got ${JSON.stringify(result.errors)}`);
  return result.query;
};

describe('parseUsageQuery', () => {
  describe('defaults', () => {
    it('covers all time (OpenMeter: no from/to), unwindowed, in UTC, for every subject', () => {
      expect(parse({})).toEqual({
        ok: true,
        query: { meter: 'api-calls', subjects: [], from: null, to: null, windowSize: null, windowTimeZone: 'UTC', groupBy: [] },
      });
    });

    it('leaves the other end open when only from or only to is given', () => {
      expect(query({ from: '2024-05-01T00:00:00Z' })).toMatchObject({ from: new Date('2024-05-01T00:00:00.000Z'), to: null });
      expect(query({ to: '2024-03-01T00:00:00Z' })).toMatchObject({ from: null, to: new Date('2024-03-01T00:00:00.000Z') });
    });

    it('takes a from in the future or a to before any event (the answer is simply empty)', () => {
      expect(query({ from: '2999-01-01T00:00:00Z' }).from).toEqual(new Date('2999-01-01T00:00:00.000Z'));
      expect(query({ to: '1970-01-01T00:00:00.001Z' }).to).toEqual(new Date(1));
    });
  });

  describe('from and to', () => {
    it('takes explicit RFC 3339 timestamps, with Z, offsets or fractions', () => {
      expect(query({ from: '2024-05-01T00:00:00+02:00', to: '2024-05-02T00:00:00.500Z' })).toMatchObject({
        from: new Date('2024-04-30T22:00:00.000Z'),
        to: new Date('2024-05-02T00:00:00.500Z'),
      });
      expect(query({ from: '2024-05-01T00:00:00-05:30', to: '2024-05-02T00:00:00Z' }).from).toEqual(new Date('2024-05-01T05:30:00.000Z'));
      // RFC 3339 lets T and Z be lower case.
      expect(query({ from: '2024-05-01t00:00:00z' }).from).toEqual(new Date('2024-05-01T00:00:00.000Z'));
    });

    it('refuses from equal to or after to at /from', () => {
      const expected = { ok: false, errors: [{ pointer: '/from', detail: 'must be before to' }] };
      expect(parse({ from: '2024-05-02T00:00:00Z', to: '2024-05-02T00:00:00Z' })).toEqual(expected);
      expect(parse({ from: '2024-05-03T00:00:00Z', to: '2024-05-02T00:00:00Z' })).toEqual(expected);
      // The same instant written in two offsets is still equal.
      expect(parse({ from: '2024-05-02T02:00:00+02:00', to: '2024-05-02T00:00:00Z' })).toEqual(expected);
    });

    it('accepts from one millisecond before to', () => {
      expect(parse({ from: '2024-05-01T23:59:59.999Z', to: '2024-05-02T00:00:00Z' }).ok).toBe(true);
    });

    it('refuses a from that is not RFC 3339 at /from', () => {
      for (const from of ['2024-05-01', 'yesterday', '1714521600000', '2024-05-01T25:00:00Z', '2024-05-01 00:00:00Z', 'May 1, 2024', '']) {
        expect(parse({ from })).toEqual({ ok: false, errors: [{ pointer: '/from', detail: RFC3339 }] });
      }
    });

    it('refuses a timestamp without an offset, which would be read in the server\'s time zone', () => {
      expect(parse({ from: '2024-05-01T00:00:00', to: '2024-05-02T00:00:00Z' })).toEqual({ ok: false, errors: [{ pointer: '/from', detail: RFC3339 }] });
      expect(parse({ from: '2024-05-01T00:00:00Z', to: '2024-05-02T00:00' })).toEqual({ ok: false, errors: [{ pointer: '/to', detail: RFC3339 }] });
    });

    it('refuses a to that is not RFC 3339 at /to', () => {
      expect(parse({ to: 'now' })).toEqual({ ok: false, errors: [{ pointer: '/to', detail: RFC3339 }] });
      expect(parse({ from: '2024-05-01T00:00:00Z', to: '2024-05-02' })).toEqual({ ok: false, errors: [{ pointer: '/to', detail: RFC3339 }] });
    });

    it('reports both bad timestamps, and no ordering error on top', () => {
      expect(parse({ from: 'later', to: 'sooner' })).toEqual({
        ok: false,
        errors: [
          { pointer: '/to', detail: RFC3339 },
          { pointer: '/from', detail: RFC3339 },
        ],
      });
    });

    it('refuses a repeated from or to', () => {
      expect(parse({ from: ['2024-05-01T00:00:00Z', '2024-05-02T00:00:00Z'] })).toEqual({ ok: false, errors: [{ pointer: '/from', detail: RFC3339 }] });
      expect(parse({ to: ['2024-05-01T00:00:00Z'] })).toEqual({ ok: false, errors: [{ pointer: '/to', detail: RFC3339 }] });
    });
  });

  describe('windowSize', () => {
    const week = { from: '2024-05-13T12:00:00Z', to: '2024-05-20T12:00:00Z' };

    it('takes HOUR and DAY over the default range', () => {
      expect(query({ windowSize: 'HOUR' }).windowSize).toBe('HOUR');
      expect(query({ windowSize: 'DAY' }).windowSize).toBe('DAY');
    });

    it('takes MINUTE over a range of up to 7 days', () => {
      expect(query({ ...week, windowSize: 'MINUTE' }).windowSize).toBe('MINUTE');
      expect(query({ from: '2024-05-20T11:00:00Z', windowSize: 'MINUTE' }).windowSize).toBe('MINUTE');
    });

    it('refuses MINUTE over more than 7 days (10,080 windows, the default cap) at /windowSize', () => {
      expect(parse({ from: '2024-05-13T11:59:59.999Z', to: week.to, windowSize: 'MINUTE' })).toEqual({
        ok: false,
        errors: [{ pointer: '/windowSize', detail: 'the range spans 10081 MINUTE windows; at most 10080 per query: shorten the range or use a larger windowSize' }],
      });
    });

    it('takes MINUTE without from or to: no default range can exceed the cap (the windows the events span are checked at query time)', () => {
      expect(query({ windowSize: 'MINUTE' })).toMatchObject({ windowSize: 'MINUTE', from: null, to: null });
      expect(query({ from: '2020-01-01T00:00:00Z', windowSize: 'MINUTE' })).toMatchObject({ windowSize: 'MINUTE', to: null });
    });

    it('allows HOUR and DAY over more than 7 days', () => {
      expect(parse({ from: '2024-01-01T00:00:00Z', windowSize: 'HOUR' }).ok).toBe(true);
    });

    it('refuses any other window size at /windowSize', () => {
      for (const windowSize of ['minute', 'WEEK', 'MONTH', '', ['DAY', 'HOUR']]) {
        expect(parse({ windowSize })).toEqual({ ok: false, errors: [{ pointer: '/windowSize', detail: 'must be MINUTE, HOUR or DAY' }] });
      }
    });
  });

  describe('windowTimeZone', () => {
    it('takes an IANA time zone', () => {
      expect(query({ windowSize: 'DAY', windowTimeZone: 'Europe/Berlin' })).toMatchObject({ windowSize: 'DAY', windowTimeZone: 'Europe/Berlin' });
      expect(query({ windowTimeZone: 'America/New_York' }).windowTimeZone).toBe('America/New_York');
    });

    it('refuses an unknown time zone at /windowTimeZone', () => {
      for (const windowTimeZone of ['Mars/Olympus', 'Berlin', '']) {
        expect(parse({ windowTimeZone })).toEqual({ ok: false, errors: [{ pointer: '/windowTimeZone', detail: 'must be an IANA time zone such as Europe/Berlin' }] });
      }
    });
  });

  describe('subject', () => {
    it('takes one subject', () => {
      expect(query({ subject: 'customer-1' }).subjects).toEqual(['customer-1']);
    });

    it('takes repeated subjects', () => {
      expect(query({ subject: ['customer-1', 'customer-2'] }).subjects).toEqual(['customer-1', 'customer-2']);
    });

    it('takes a comma-separated list, trimmed, without empty entries', () => {
      expect(query({ subject: 'customer-1, customer-2,,customer-3 ' }).subjects).toEqual(['customer-1', 'customer-2', 'customer-3']);
      expect(query({ subject: ['', ' '] }).subjects).toEqual([]);
      expect(query({ subject: '' }).subjects).toEqual([]);
    });
  });

  describe('groupBy', () => {
    it('takes names repeated or comma-separated', () => {
      expect(query({ groupBy: 'region,model' }).groupBy).toEqual(['region', 'model']);
      expect(query({ groupBy: ['region', 'model'] }).groupBy).toEqual(['region', 'model']);
      expect(query({ groupBy: ' tier_2 , plan-name ' }).groupBy).toEqual(['tier_2', 'plan-name']);
    });

    it('takes names of up to 64 letters, digits, _ and -', () => {
      expect(query({ groupBy: 'a'.repeat(64) }).groupBy).toEqual(['a'.repeat(64)]);
    });

    it('refuses each bad name at /groupBy', () => {
      expect(parse({ groupBy: ['region', 'data.model', 'two words', 'b'.repeat(65)] })).toEqual({
        ok: false,
        errors: [
          { pointer: '/groupBy', detail: '"data.model" is not a group-by name' },
          { pointer: '/groupBy', detail: '"two words" is not a group-by name' },
          { pointer: '/groupBy', detail: `"${'b'.repeat(65)}" is not a group-by name` },
        ],
      });
      expect(parse({ groupBy: '$.region' })).toEqual({ ok: false, errors: [{ pointer: '/groupBy', detail: '"$.region" is not a group-by name' }] });
    });
  });

  it('reports every bad parameter at once', () => {
    expect(parse({ from: 'soon', windowSize: 'WEEK', windowTimeZone: 'Nowhere/Land', groupBy: 'a b' })).toEqual({
      ok: false,
      errors: [
        { pointer: '/from', detail: RFC3339 },
        { pointer: '/windowSize', detail: 'must be MINUTE, HOUR or DAY' },
        { pointer: '/windowTimeZone', detail: 'must be an IANA time zone such as Europe/Berlin' },
        { pointer: '/groupBy', detail: '"a b" is not a group-by name' },
      ],
    });
  });

  it('passes the meter through', () => {
    expect(parseUsageQuery('tokens', {})).toMatchObject({ ok: true, query: { meter: 'tokens' } });
  });
});

describe('query limits', () => {
  const limits = { maxWindows: 48, maxRangeDays: 10 };
  const parseWith = (params: Record<string, string>) => parseUsageQuery('api-calls', params, limits);

  it('caps the number of windows, not the range: HOUR over two days passes, over two days and a minute does not', () => {
    const to = '2024-05-20T12:00:00Z';
    expect(parseWith({ from: '2024-05-18T12:00:00Z', to, windowSize: 'HOUR' }).ok).toBe(true);
    expect(parseWith({ from: '2024-05-18T11:59:00Z', to, windowSize: 'HOUR' })).toEqual({
      ok: false,
      errors: [{ pointer: '/windowSize', detail: 'the range spans 49 HOUR windows; at most 48 per query: shorten the range or use a larger windowSize' }],
    });
    // The same range in DAY windows is three windows.
    expect(parseWith({ from: '2024-05-18T11:59:00Z', to, windowSize: 'DAY' }).ok).toBe(true);
    // An open end is not counted here: the query counts the windows its events span (windowLimitProblem).
    expect(parseWith({ from: '2024-05-18T11:59:00Z', windowSize: 'HOUR' }).ok).toBe(true);
  });

  it('caps an explicit range, windowed or not, at /from; an open one covers the retained ledger', () => {
    const to = '2024-05-20T12:00:00Z';
    expect(parseWith({ from: '2024-05-10T12:00:00Z', to }).ok).toBe(true);
    expect(parseWith({ from: '2024-05-10T11:59:59.999Z', to })).toEqual({ ok: false, errors: [{ pointer: '/from', detail: 'the range may span at most 10 days' }] });
    expect(parseWith({}).ok).toBe(true);
    expect(parseWith({ from: '2000-01-01T00:00:00Z' }).ok).toBe(true);
  });

  it('refuses a range of centuries without trying to count its windows', () => {
    expect(parseUsageQuery('m', { from: '0001-01-01T00:00:00Z', to: '9999-12-31T00:00:00Z', windowSize: 'MINUTE' })).toEqual({
      ok: false,
      errors: [{ pointer: '/from', detail: 'the range may span at most 400 days' }],
    });
  });
});

describe('countWindows', () => {
  it('counts aligned UTC windows the range touches', () => {
    expect(countWindows(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-02T00:00:00Z'), 'HOUR', 'UTC')).toBe(24);
    expect(countWindows(new Date('2024-05-01T00:30:00Z'), new Date('2024-05-01T01:30:00Z'), 'HOUR', 'UTC')).toBe(2);
    expect(countWindows(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-01T00:00:00.001Z'), 'DAY', 'UTC')).toBe(1);
  });

  it('aligns to the wall clock of the time zone', () => {
    // Midnight UTC is 02:00 in Berlin in May: the range touches two Berlin days.
    expect(countWindows(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-02T00:00:00Z'), 'DAY', 'Europe/Berlin')).toBe(2);
    expect(countWindows(new Date('2024-04-30T22:00:00Z'), new Date('2024-05-01T22:00:00Z'), 'DAY', 'Europe/Berlin')).toBe(1);
    // Kolkata is UTC+05:30: a UTC hour straddles two of its hours.
    expect(countWindows(new Date('2024-05-01T00:00:00Z'), new Date('2024-05-01T01:00:00Z'), 'HOUR', 'Asia/Kolkata')).toBe(2);
  });
});

describe('windowLimitProblem (the events\' span of an open query)', () => {
  const limits = { maxWindows: 60, maxRangeDays: 400 };
  it('passes exactly the cap and refuses one window more', () => {
    const from = new Date('2024-05-01T10:00:00Z');
    expect(windowLimitProblem(from, new Date('2024-05-01T11:00:00Z'), 'MINUTE', 'UTC', limits)).toBeNull();
    expect(windowLimitProblem(from, new Date('2024-05-01T11:00:00.001Z'), 'MINUTE', 'UTC', limits)).toEqual({
      pointer: '/windowSize',
      detail: 'the range spans 61 MINUTE windows; at most 60 per query: shorten the range or use a larger windowSize',
    });
  });
});

describe('unwindowedLabel (OpenMeter: from/to when given, else the first and last event\'s minute windows)', () => {
  const first = new Date('2024-05-01T10:15:42.123Z');
  const last = new Date('2024-05-03T08:00:00.000Z');
  it('labels an all-time row with the first event\'s minute start and the last event\'s minute end', () => {
    expect(unwindowedLabel({ from: null, to: null }, first, last)).toEqual({ windowStart: new Date('2024-05-01T10:15:00Z'), windowEnd: new Date('2024-05-03T08:01:00Z') });
  });
  it('keeps each bound that was given, independently', () => {
    const from = new Date('2024-04-01T00:00:00Z');
    const to = new Date('2024-06-01T00:00:00Z');
    expect(unwindowedLabel({ from, to: null }, first, last)).toEqual({ windowStart: from, windowEnd: new Date('2024-05-03T08:01:00Z') });
    expect(unwindowedLabel({ from: null, to }, first, last)).toEqual({ windowStart: new Date('2024-05-01T10:15:00Z'), windowEnd: to });
  });
  it('an event exactly on a minute boundary ends its window one minute later; no events label the epoch minute (ClickHouse\'s empty min/max)', () => {
    expect(unwindowedLabel({ from: null, to: null }, last, last)).toEqual({ windowStart: last, windowEnd: new Date('2024-05-03T08:01:00Z') });
    expect(unwindowedLabel({ from: null, to: null }, null, null)).toEqual({ windowStart: new Date(0), windowEnd: new Date(60_000) });
  });
});

describe('zeroCountRows (COUNT and UNIQUE_COUNT answer 0 over no events, the others no row)', () => {
  const total = { subjects: [], windowSize: null, groupBy: [] };
  it('the total row, only for the counting aggregations', () => {
    expect(zeroCountRows(total, 'COUNT', [])).toEqual([null]);
    expect(zeroCountRows(total, 'UNIQUE_COUNT', [])).toEqual([null]);
    for (const a of ['SUM', 'AVG', 'MIN', 'MAX', 'LATEST', 'TIME_WEIGHTED_SUM']) expect(zeroCountRows(total, a, [])).toEqual([]);
    expect(zeroCountRows(total, 'COUNT', [null])).toEqual([]);
  });
  it('each requested subject without a row, once (duplicates in the request)', () => {
    expect(zeroCountRows({ ...total, subjects: ['a', 'b', 'a', 'c'] }, 'COUNT', ['b'])).toEqual(['a', 'c']);
  });
  it('nothing for windowed or grouped queries: only windows and groups with events exist', () => {
    expect(zeroCountRows({ ...total, windowSize: 'DAY' }, 'COUNT', [])).toEqual([]);
    expect(zeroCountRows({ ...total, groupBy: ['region'] }, 'COUNT', [])).toEqual([]);
  });
});

describe('usageCsv', () => {
  const row = { windowStart: '2024-05-01T00:00:00.000Z', windowEnd: '2024-05-02T00:00:00.000Z', subject: 'c-1', groupBy: { region: 'eu', model: '' }, value: '12.5' };
  it('OpenMeter\'s columns: window_start, window_end, subject when per subject, the group-bys, value; CRLF lines', () => {
    expect(usageCsv({ subjects: ['c-1'], groupBy: ['region', 'model'] }, [row])).toBe(
      'window_start,window_end,subject,region,model,value\r\n2024-05-01T00:00:00.000Z,2024-05-02T00:00:00.000Z,c-1,eu,,12.5\r\n',
    );
    expect(usageCsv({ subjects: [], groupBy: [] }, [])).toBe('window_start,window_end,value\r\n');
  });
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(usageCsv({ subjects: [], groupBy: ['region'] }, [{ ...row, groupBy: { region: 'a,"b"\nc' } }]).split('\r\n')[1]).toBe(
      '2024-05-01T00:00:00.000Z,2024-05-02T00:00:00.000Z,"a,""b""\nc",12.5',
    );
    expect(csvField('plain')).toBe('plain');
  });
});
