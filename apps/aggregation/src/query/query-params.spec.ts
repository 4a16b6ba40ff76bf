import { countWindows, parseUsageQuery } from './query-params';

const NOW = new Date('2024-05-20T12:00:00.000Z');
const RFC3339 = 'must be an RFC 3339 timestamp';

const parse = (params: Record<string, string | string[] | undefined>) => parseUsageQuery('api-calls', params, NOW);
const query = (params: Record<string, string | string[] | undefined>) => {
  const result = parse(params);
  if (!result.ok) throw new Error(`expected a valid query, got ${JSON.stringify(result.errors)}`);
  return result.query;
};

describe('parseUsageQuery', () => {
  describe('defaults', () => {
    it('queries the 31 days up to now, unwindowed, in UTC, for every subject', () => {
      expect(parse({})).toEqual({
        ok: true,
        query: {
          meter: 'api-calls',
          subjects: [],
          from: new Date('2024-04-19T12:00:00.000Z'),
          to: NOW,
          windowSize: null,
          windowTimeZone: 'UTC',
          groupBy: [],
        },
      });
    });

    it('ends at now when only from is given', () => {
      expect(query({ from: '2024-05-01T00:00:00Z' })).toMatchObject({ from: new Date('2024-05-01T00:00:00.000Z'), to: NOW });
    });

    it('starts 31 days before to when only to is given', () => {
      // 2024 is a leap year: 1 March minus 31 days is 30 January.
      expect(query({ to: '2024-03-01T00:00:00Z' })).toMatchObject({ from: new Date('2024-01-30T00:00:00.000Z'), to: new Date('2024-03-01T00:00:00.000Z') });
    });

    it('uses the current time when none is passed', () => {
      const before = Date.now();
      const result = parseUsageQuery('api-calls', {});
      const after = Date.now();
      if (!result.ok) throw new Error('expected a valid query');
      expect(result.query.to.getTime()).toBeGreaterThanOrEqual(before);
      expect(result.query.to.getTime()).toBeLessThanOrEqual(after);
      expect(result.query.to.getTime() - result.query.from.getTime()).toBe(31 * 86_400_000);
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
      // A from in the future against the default to (now).
      expect(parse({ from: '2024-05-21T00:00:00Z' })).toEqual(expected);
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
      // The default range is 31 days.
      expect(parse({ windowSize: 'MINUTE' })).toEqual({
        ok: false,
        errors: [{ pointer: '/windowSize', detail: 'the range spans 44640 MINUTE windows; at most 10080 per query: shorten the range or use a larger windowSize' }],
      });
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
    expect(parseUsageQuery('tokens', {}, NOW)).toMatchObject({ ok: true, query: { meter: 'tokens' } });
  });
});

describe('query limits', () => {
  const limits = { maxWindows: 48, maxRangeDays: 10 };
  const parseWith = (params: Record<string, string>) => parseUsageQuery('api-calls', params, NOW, limits);

  it('caps the number of windows, not the range: HOUR over two days passes, over two days and a minute does not', () => {
    expect(parseWith({ from: '2024-05-18T12:00:00Z', windowSize: 'HOUR' }).ok).toBe(true);
    expect(parseWith({ from: '2024-05-18T11:59:00Z', windowSize: 'HOUR' })).toEqual({
      ok: false,
      errors: [{ pointer: '/windowSize', detail: 'the range spans 49 HOUR windows; at most 48 per query: shorten the range or use a larger windowSize' }],
    });
    // The same range in DAY windows is three windows.
    expect(parseWith({ from: '2024-05-18T11:59:00Z', windowSize: 'DAY' }).ok).toBe(true);
  });

  it('caps the range of every query, windowed or not, at /from', () => {
    expect(parseWith({ from: '2024-05-10T12:00:00Z' }).ok).toBe(true);
    expect(parseWith({ from: '2024-05-10T11:59:59.999Z' })).toEqual({ ok: false, errors: [{ pointer: '/from', detail: 'the range may span at most 10 days' }] });
    // The default 31 days is over this limit too: the client must narrow it.
    expect(parseWith({})).toEqual({ ok: false, errors: [{ pointer: '/from', detail: 'the range may span at most 10 days' }] });
  });

  it('refuses a range of centuries without trying to count its windows', () => {
    expect(parseUsageQuery('m', { from: '0001-01-01T00:00:00Z', to: '9999-12-31T00:00:00Z', windowSize: 'MINUTE' }, NOW)).toEqual({
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
