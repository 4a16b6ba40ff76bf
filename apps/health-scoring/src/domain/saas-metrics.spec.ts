import Decimal from 'decimal.js';
import { activationCohorts, addMonths, arpa, churnRate, lifetimeValue, netPromoterScore, recurringRevenueMonths, revenueMovement, thresholdUtilizationRate, upgradeConversionRate } from './saas-metrics';

describe('churnRate', () => {
  it('is customers lost / customers at the start × 100', () => {
    // 3 of 40 customers lost: 7.5 %
    expect(churnRate(40, 3)).toBe(7.5);
    expect(churnRate(3, 1)).toBe(33.33);
    expect(churnRate(3, 2)).toBe(66.67); // half up
    expect(churnRate(10, 0)).toBe(0);
    expect(churnRate(0, 0)).toBeNull();
  });
});

describe('ARPA and LTV', () => {
  it('LTV = ARPA / churn rate', () => {
    // 4 accounts paying 2,000.00 in all: ARPA 500; churn 5 % -> LTV 500 / 0.05 = 10,000
    const a = arpa('2000.00', 4);
    expect(a?.toFixed(2)).toBe('500.00');
    expect(lifetimeValue(a, 5)?.toFixed(2)).toBe('10000.00');
    // ARPA 100 with 7.5 % churn: 1,333.33...
    expect(lifetimeValue(new Decimal(100), 7.5)?.toFixed(2)).toBe('1333.33');
  });

  it('has no LTV without churn, and no ARPA without accounts', () => {
    expect(lifetimeValue(new Decimal(100), 0)).toBeNull();
    expect(lifetimeValue(null, 5)).toBeNull();
    expect(arpa('10', 0)).toBeNull();
  });

  it('adds money exactly (0.1 + 0.2)', () => {
    expect(arpa(new Decimal('0.1').plus('0.2'), 1)?.toString()).toBe('0.3');
  });
});

describe('revenueMovement', () => {
  // Start MRR 100 + 200 + 300 + 400 = 1000.
  // a: 100 -> 150, same plan (usage expansion 50); b: 200 -> 260, new plan (expansion 60);
  // c: 300 -> 250 (contraction 50); d: 400 -> 0 (churned 400); e: 0 -> 80 (new).
  const movement = revenueMovement([
    { customer: 'a', previous: '100', current: '150', samePlan: true },
    { customer: 'b', previous: '200', current: '260', samePlan: false },
    { customer: 'c', previous: '300', current: '250', samePlan: true },
    { customer: 'd', previous: '400', current: '0', samePlan: false },
    { customer: 'e', previous: '0', current: '80', samePlan: false },
  ]);

  it('splits MRR into new, expansion, contraction and churned', () => {
    expect(movement).toMatchObject({
      startMrr: '1000.00', endMrr: '740.00', newMrr: '80.00', expansionMrr: '110.00', usageExpansionMrr: '50.00',
      contractionMrr: '50.00', churnedMrr: '400.00', customersAtStart: 4, customersLost: 1, customersAtEnd: 4,
    });
  });

  it('NRR = (start + expansion − contraction − churn) / start; GRR leaves expansion out', () => {
    // NRR (1000 + 110 − 50 − 400) / 1000 = 66 %; GRR (1000 − 50 − 400) / 1000 = 55 %
    expect(movement.nrr).toBe(66);
    expect(movement.grr).toBe(55);
    // usage share 50 / 110 = 45.45 %; usage-driven NRR (1000 + 50 − 450) / 1000 = 60 %
    expect(movement.usageExpansionShare).toBe(45.45);
    expect(movement.usageNrr).toBe(60);
  });

  it('has no retention without revenue at the start, and no usage share without expansion', () => {
    expect(revenueMovement([{ customer: 'e', previous: '0', current: '80', samePlan: false }])).toMatchObject({ nrr: null, grr: null, usageExpansionShare: null, newMrr: '80.00' });
  });

  it('can exceed 100 % NRR (negative churn)', () => {
    expect(revenueMovement([{ customer: 'a', previous: '100', current: '130', samePlan: true }]).nrr).toBe(130);
  });
});

describe('netPromoterScore', () => {
  it('is % promoters (9-10) − % detractors (0-6)', () => {
    // 5 promoters, 3 passives, 2 detractors of 10: 50 − 20 = 30
    expect(netPromoterScore([9, 10, 9, 10, 9, 7, 8, 8, 6, 0])).toEqual({ score: 30, promoters: 5, passives: 3, detractors: 2, responses: 10 });
  });

  it('puts 6 with detractors, 7-8 with passives and 9 with promoters', () => {
    expect(netPromoterScore([6]).score).toBe(-100);
    expect(netPromoterScore([7, 8]).score).toBe(0);
    expect(netPromoterScore([9]).score).toBe(100);
    expect(netPromoterScore([9, 6, 8]).score).toBe(0);
    expect(netPromoterScore([9, 9, 0]).score).toBe(33.33);
    expect(netPromoterScore([]).score).toBeNull();
  });
});

describe('activationCohorts', () => {
  it('gives each signup month its retention by month, month 2 and year 1', () => {
    const rows = activationCohorts(
      [
        // January cohort of 4: all pay in January, 3 in February (month 2 = 75 %), 1 in the next January (year 1 = 25 %).
        { customer: 'a', signupMonth: '2025-01', payingMonths: ['2025-01', '2025-02', '2026-01'] },
        { customer: 'b', signupMonth: '2025-01', payingMonths: ['2025-01', '2025-02'] },
        { customer: 'c', signupMonth: '2025-01', payingMonths: ['2025-01', '2025-02'] },
        { customer: 'd', signupMonth: '2025-01', payingMonths: ['2025-01'] },
        // December cohort of 2: one pays in January.
        { customer: 'e', signupMonth: '2025-12', payingMonths: ['2025-12', '2026-01'] },
        { customer: 'f', signupMonth: '2025-12', payingMonths: ['2025-12'] },
      ],
      '2026-01',
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ cohort: '2025-01', customers: 4, month2Retention: 75, year1Retention: 25 });
    expect(rows[0].retention).toEqual([100, 75, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25]);
    expect(rows[1]).toEqual({ cohort: '2025-12', customers: 2, retention: [100, 50], month2Retention: 50, year1Retention: null });
  });

  it('counts months across year ends', () => {
    expect(addMonths('2025-12', 1)).toBe('2026-01');
    expect(addMonths('2025-01', 12)).toBe('2026-01');
    expect(addMonths('2025-03', -3)).toBe('2024-12');
  });
});

describe('thresholdUtilizationRate', () => {
  it('is the share of active customers at or above a threshold', () => {
    // 2 of 8 active customers crossed a threshold (one twice; an inactive one does not count): 25 %
    expect(thresholdUtilizationRate(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], ['a', 'a', 'b', 'zz'])).toBe(25);
    expect(thresholdUtilizationRate([], ['a'])).toBeNull();
  });
});

describe('upgradeConversionRate', () => {
  const t = (s: string) => new Date(s);
  it('is the share of alerted customers that upgraded within N days of their first alert', () => {
    const alerts = [
      { customer: 'a', alertedAt: t('2026-05-10T00:00:00Z') },
      { customer: 'a', alertedAt: t('2026-05-20T00:00:00Z') },
      { customer: 'b', alertedAt: t('2026-05-10T00:00:00Z') },
      { customer: 'c', alertedAt: t('2026-05-10T00:00:00Z') },
      { customer: 'd', alertedAt: t('2026-05-10T00:00:00Z') },
    ];
    const upgrades = [
      { customer: 'a', upgradedAt: t('2026-06-09T00:00:00Z') }, // day 30 after the first alert: counts
      { customer: 'b', upgradedAt: t('2026-06-09T00:00:01Z') }, // just past 30 days: does not
      { customer: 'c', upgradedAt: t('2026-05-09T00:00:00Z') }, // before the alert: does not
    ];
    // 1 of 4
    expect(upgradeConversionRate(alerts, upgrades, 30)).toBe(25);
    expect(upgradeConversionRate(alerts, upgrades, 31)).toBe(50);
    expect(upgradeConversionRate([], upgrades, 30)).toBeNull();
  });
});

describe('recurringRevenueMonths', () => {
  const at = (s: string) => new Date(s);
  const months = (start: string, end: string, total: string) => recurringRevenueMonths(at(start), at(end), total).map((r) => [r.month, r.amount.toFixed()]);

  it('counts a monthly invoice in full in the month its period starts in (calendar, anniversary, prorated first)', () => {
    expect(months('2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '49')).toEqual([['2026-03', '49']]);
    expect(months('2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', '49')).toEqual([['2026-01', '49']]);
    expect(months('2026-03-20T00:00:00Z', '2026-04-01T00:00:00Z', '19.03')).toEqual([['2026-03', '19.03']]);
    // A Berlin March starts on Feb 28 at 23:00 UTC: it counts in the UTC month its start falls in (analytics
    // months are UTC months).
    expect(months('2026-02-28T23:00:00Z', '2026-03-31T22:00:00Z', '49')).toEqual([['2026-02', '49']]);
  });

  it('spreads a yearly invoice over the twelve months whose 15th it covers', () => {
    const calendar = months('2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z', '1200');
    expect(calendar).toHaveLength(12);
    expect(calendar[0]).toEqual(['2026-01', '100']);
    expect(calendar[11]).toEqual(['2026-12', '100']);
    const anniversary = months('2026-01-15T00:00:00Z', '2027-01-15T00:00:00Z', '1200');
    expect(anniversary.map(([m]) => m)).toEqual(['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12']);
    const late = months('2026-01-16T00:00:00Z', '2027-01-16T00:00:00Z', '1200');
    expect(late.map(([m]) => m)).toEqual(['2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12', '2027-01']);
  });

  it('keeps the total exact across the months (shares in full precision)', () => {
    const parts = recurringRevenueMonths(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'), '1000');
    expect(parts.reduce((sum, p) => sum.plus(p.amount), new Decimal(0)).toDecimalPlaces(10).toFixed()).toBe('1000');
  });

  it('switches to spreading at 45 days: a 44-day period counts whole, a 45-day one in the months whose 15th it covers', () => {
    expect(months('2026-03-01T00:00:00Z', '2026-04-14T00:00:00Z', '90')).toEqual([['2026-03', '90']]);
    expect(months('2026-03-01T00:00:00Z', '2026-04-15T00:00:00Z', '90')).toEqual([['2026-03', '90']]);
    expect(months('2026-03-01T00:00:00Z', '2026-04-16T00:00:00Z', '90')).toEqual([['2026-03', '45'], ['2026-04', '45']]);
  });
});
