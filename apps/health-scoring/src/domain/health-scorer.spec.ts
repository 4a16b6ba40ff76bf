import { bandChangeReasons, bandFor, DEFAULT_WEIGHTS, scoreHealth, type HealthInputs } from './health-scorer';

const inputs = (over: Partial<HealthInputs> = {}): HealthInputs => ({
  usagePercent: 80,
  active: true,
  accountStatus: 'good_standing',
  openTickets: 0,
  nps: 10,
  ...over,
});

describe('scoreHealth', () => {
  it('weights usage 40 %, billing 30 %, support 20 % and NPS 10 % by default', () => {
    expect(DEFAULT_WEIGHTS).toEqual({ usage: 0.4, billing: 0.3, support: 0.2, nps: 0.1 });
    // 80*0.4 + 100*0.3 + 80*0.2 + 90*0.1 = 32 + 30 + 16 + 9 = 87
    expect(scoreHealth(inputs({ usagePercent: 80, openTickets: 1, nps: 9 }))).toEqual({
      score: 87,
      band: 'green',
      components: { usage: 80, billing: 100, support: 80, nps: 90 },
    });
  });

  it('scores a past-due account with heavy use', () => {
    // 120*0.4 + 40*0.3 + 60*0.2 + 60*0.1 = 48 + 12 + 12 + 6 = 78
    expect(scoreHealth(inputs({ usagePercent: 120, accountStatus: 'past_due', openTickets: 2, nps: 6 }))).toEqual({
      score: 78,
      band: 'green',
      components: { usage: 120, billing: 40, support: 60, nps: 60 },
    });
  });

  it('scores a delinquent, unhappy customer red', () => {
    // 10*0.4 + 0 + 0 (6 tickets floor at 0) + 0 = 4
    expect(scoreHealth(inputs({ usagePercent: 10, accountStatus: 'delinquent', openTickets: 6, nps: 0 }))).toEqual({
      score: 4,
      band: 'red',
      components: { usage: 10, billing: 0, support: 0, nps: 0 },
    });
  });

  it('caps usage at 150 % and floors it at 0', () => {
    // 150*0.4 + 30 + 20 + 10 = 120
    expect(scoreHealth(inputs({ usagePercent: 400 }))).toMatchObject({ score: 120, band: 'excellent', components: { usage: 150 } });
    // 0 + 30 + 20 + 10 = 60
    expect(scoreHealth(inputs({ usagePercent: -20 }))).toMatchObject({ score: 60, band: 'yellow', components: { usage: 0 } });
  });

  it('takes 20 points off support per open ticket, never below 0', () => {
    const support = (openTickets: number) => scoreHealth(inputs({ openTickets })).components.support;
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(support)).toEqual([100, 80, 60, 40, 20, 0, 0, 0]);
  });

  it('scales NPS 0-10 to 0-100', () => {
    const nps = (n: number) => scoreHealth(inputs({ nps: n })).components.nps;
    expect([0, 5, 7.5, 10].map(nps)).toEqual([0, 50, 75, 100]);
  });

  describe('missing inputs count as neutral', () => {
    it('scores a new, active customer with no data at all green', () => {
      // usage 50 (active, unknown share), billing 100, support 100, NPS 50:
      // 20 + 30 + 20 + 5 = 75
      expect(scoreHealth(inputs({ usagePercent: null, accountStatus: null, openTickets: 0, nps: null }))).toEqual({
        score: 75,
        band: 'green',
        components: { usage: 50, billing: 100, support: 100, nps: 50 },
      });
    });

    it('scores unknown usage of an inactive customer 0', () => {
      // 0 + 30 + 20 + 5 = 55
      expect(scoreHealth(inputs({ usagePercent: null, active: false, accountStatus: null, nps: null }))).toMatchObject({
        score: 55,
        band: 'yellow',
        components: { usage: 0 },
      });
    });

    it('uses a known usage share even when the customer is flagged inactive', () => {
      expect(scoreHealth(inputs({ usagePercent: 30, active: false })).components.usage).toBe(30);
    });

    it('treats an unknown billing status like good standing', () => {
      expect(scoreHealth(inputs({ accountStatus: null }))).toEqual(scoreHealth(inputs({ accountStatus: 'good_standing' })));
    });
  });

  it('rounds the score to one decimal', () => {
    // 33.33*0.4 + 30 + 20 + 10 = 13.332 + 60 = 73.332
    expect(scoreHealth(inputs({ usagePercent: 33.33 })).score).toBe(73.3);
    // 33.37*0.4 + 60 = 73.348
    expect(scoreHealth(inputs({ usagePercent: 33.37 })).score).toBe(73.3);
    // 33.38*0.4 + 60 = 73.352
    expect(scoreHealth(inputs({ usagePercent: 33.38 })).score).toBe(73.4);
  });

  describe('band boundaries (through the score)', () => {
    // Billing 100 and no tickets give 30 + 20; the rest comes from usage*0.4 and NPS*10*0.1.
    it.each([
      // usage, tickets, nps, score, band
      [25, 5, 0, 40, 'red'], // 10 + 30 + 0 + 0
      [25.25, 5, 0, 40.1, 'yellow'], // 10.1 + 30
      [27.5, 5, 0, 41, 'yellow'], // 11 + 30
      [50, 1, 4, 70, 'yellow'], // 20 + 30 + 16 + 4
      [50.25, 1, 4, 70.1, 'green'], // 20.1 + 30 + 16 + 4
      [50, 1, 5, 71, 'green'], // 20 + 30 + 16 + 5
      [100, 0, 10, 100, 'green'], // 40 + 30 + 20 + 10
      [100.25, 0, 10, 100.1, 'excellent'], // 40.1 + 30 + 20 + 10
    ])('usage %p, %p tickets, NPS %p scores %p: %s', (usagePercent, openTickets, nps, score, band) => {
      expect(scoreHealth(inputs({ usagePercent, openTickets, nps }))).toMatchObject({ score, band });
    });
  });

  describe('custom weights', () => {
    it('normalises by the sum of the weights', () => {
      const i = inputs({ usagePercent: 80, openTickets: 1, nps: 9 });
      // Same proportions as the default, ten times larger: same 87.
      expect(scoreHealth(i, { usage: 4, billing: 3, support: 2, nps: 1 }).score).toBe(87);
      // (80*2 + 100*2 + 80*1 + 90*0) / 5 = 440 / 5 = 88
      expect(scoreHealth(i, { usage: 2, billing: 2, support: 1, nps: 0 }).score).toBe(88);
    });

    it('can score on one signal alone', () => {
      expect(scoreHealth(inputs({ usagePercent: 130, accountStatus: 'delinquent', openTickets: 9, nps: 0 }), { usage: 1, billing: 0, support: 0, nps: 0 })).toMatchObject({
        score: 130,
        band: 'excellent',
      });
      expect(scoreHealth(inputs({ accountStatus: 'past_due' }), { usage: 0, billing: 1, support: 0, nps: 0 })).toMatchObject({
        score: 40,
        band: 'red',
      });
    });

    it('reports the unweighted components whatever the weights', () => {
      const i = inputs({ usagePercent: 80, openTickets: 1, nps: 9 });
      expect(scoreHealth(i, { usage: 0, billing: 0, support: 0, nps: 1 }).components).toEqual({ usage: 80, billing: 100, support: 80, nps: 90 });
    });
  });
});

describe('bandFor', () => {
  it.each([
    [0, 'red'],
    [40, 'red'],
    [40.1, 'yellow'],
    [41, 'yellow'],
    [70, 'yellow'],
    [70.1, 'green'],
    [71, 'green'],
    [100, 'green'],
    [100.1, 'excellent'],
    [150, 'excellent'],
  ])('puts %p in %s', (score, band) => {
    expect(bandFor(score)).toBe(band);
  });
});

describe('bandChangeReasons', () => {
  const before = scoreHealth(inputs({ usagePercent: 80, openTickets: 1, nps: 9 }));

  it('lists every component when there is no previous score', () => {
    expect(bandChangeReasons(null, before)).toEqual([
      'product usage score 80',
      'billing status score 100',
      'support tickets score 80',
      'NPS score 90',
    ]);
  });

  it('lists only the components that changed, as before -> after', () => {
    const after = scoreHealth(inputs({ usagePercent: 20, accountStatus: 'past_due', openTickets: 1, nps: 9 }));
    expect(bandChangeReasons(before, after)).toEqual(['product usage score 80 -> 20', 'billing status score 100 -> 40']);
  });

  it('lists support and NPS changes too, in the fixed order usage, billing, support, NPS', () => {
    const after = scoreHealth(inputs({ usagePercent: 80, openTickets: 4, nps: 2 }));
    expect(bandChangeReasons(before, after)).toEqual(['support tickets score 80 -> 20', 'NPS score 90 -> 20']);
  });

  it('lists nothing when no component changed', () => {
    expect(bandChangeReasons(before, scoreHealth(inputs({ usagePercent: 80, openTickets: 1, nps: 9 })))).toEqual([]);
  });
});
