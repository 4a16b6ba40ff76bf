import { levelAmount, levelsPassed, levelsReached, progressiveBillingIssues, progressiveCreditLine, progressiveInvoiceDue } from './progressive-billing';

const none = { levelsInvoiced: 0, highestThreshold: null, billedAmount: '0' };
/** After progressive invoices of the period: `levels` recorded, the highest threshold invoiced and the amount billed. */
const after = (levels: number, highest: string, billed: string) => ({ levelsInvoiced: levels, highestThreshold: highest, billedAmount: billed });

describe('levelsReached / levelAmount', () => {
  const terms = { thresholds: ['500', '100'], recurring: '250' };

  it('orders the fixed thresholds, then adds the recurring amount to the largest', () => {
    expect([1, 2, 3, 4, 5].map((n) => levelAmount(terms, n))).toEqual(['100', '500', '750', '1000', '1250']);
    expect(levelAmount({ thresholds: ['100'] }, 2)).toBeNull();
    expect(levelAmount({ recurring: '0.5' }, 3)).toBe('1.5');
    expect(() => levelAmount(terms, 0)).toThrow(/positive integer/);
  });

  it('counts a threshold as reached at exactly its amount, not a cent before (Lago: amount <= usage)', () => {
    expect(levelsReached(terms, '99.99')).toBe(0);
    expect(levelsReached(terms, '100')).toBe(1);
    expect(levelsReached(terms, '100.00')).toBe(1);
    expect(levelsReached(terms, '499.99')).toBe(1);
    expect(levelsReached(terms, '500')).toBe(2);
    expect(levelsReached(terms, '749.99')).toBe(2);
    expect(levelsReached(terms, '750')).toBe(3);
    expect(levelsReached(terms, '1000')).toBe(4);
  });

  it('recurring alone starts from zero; zero and negative amounts reach nothing', () => {
    expect(levelsReached({ recurring: '100' }, '0')).toBe(0);
    expect(levelsReached({ recurring: '100' }, '-50')).toBe(0);
    expect(levelsReached({ recurring: '100' }, '99.99')).toBe(0);
    expect(levelsReached({ recurring: '100' }, '300')).toBe(3);
    expect(levelsReached({ thresholds: ['100'] }, '-1')).toBe(0);
  });

  it('counts huge amounts without listing the levels', () => {
    expect(levelsReached({ recurring: '0.01' }, '1000000000000')).toBe(100_000_000_000_000);
  });
});

describe('progressiveInvoiceDue', () => {
  const terms = { thresholds: ['100', '500'] };

  it('below the first threshold: no invoice', () => {
    expect(progressiveInvoiceDue(terms, '99.99', none, 'EUR')).toEqual({ invoice: false, reason: 'no_new_threshold', levelsReached: 0 });
  });

  it('a threshold exactly hit: an invoice for the whole amount so far', () => {
    expect(progressiveInvoiceDue(terms, '100', none, 'EUR')).toEqual({
      invoice: true, levelsReached: 1, levelsRecorded: 1, lowestCrossed: '100', highestCrossed: '100', crossedCount: 1, amountSoFar: '100.00', alreadyBilled: '0.00', amountToBill: '100.00',
    });
  });

  it('the next threshold: net of what the earlier progressive invoices billed', () => {
    expect(progressiveInvoiceDue(terms, '620.40', after(1, '100', '130.25'), 'EUR')).toMatchObject({
      invoice: true, levelsReached: 2, lowestCrossed: '500', highestCrossed: '500', amountSoFar: '620.40', alreadyBilled: '130.25', amountToBill: '490.15',
    });
  });

  it('several thresholds crossed at once make one invoice recording all of them', () => {
    const d = progressiveInvoiceDue({ thresholds: ['100', '200', '300'], recurring: '50' }, '410', none, 'EUR');
    expect(d).toMatchObject({ invoice: true, levelsReached: 5, lowestCrossed: '100', highestCrossed: '400', crossedCount: 5, amountToBill: '410.00' });
  });

  it('a level already invoiced is not invoiced again, also after usage went down and back up', () => {
    expect(progressiveInvoiceDue(terms, '150', after(1, '100', '120'), 'EUR')).toEqual({ invoice: false, reason: 'no_new_threshold', levelsReached: 1 });
    // Usage went down below the first threshold after its invoice: nothing, and nothing is given back here (the period's invoice nets it).
    expect(progressiveInvoiceDue(terms, '40', after(1, '100', '120'), 'EUR')).toEqual({ invoice: false, reason: 'no_new_threshold', levelsReached: 0 });
    expect(progressiveInvoiceDue(terms, '100', after(2, '500', '600'), 'EUR')).toMatchObject({ invoice: false });
  });

  it('a void progressive invoice: its levels stay passed (never invoiced twice), its amount is no longer netted', () => {
    // Level 1 was invoiced at 130 and voided: billed 0, highest threshold 100.
    expect(progressiveInvoiceDue(terms, '499.99', after(1, '100', '0'), 'EUR')).toEqual({ invoice: false, reason: 'no_new_threshold', levelsReached: 1 });
    expect(progressiveInvoiceDue(terms, '500', after(1, '100', '0'), 'EUR')).toMatchObject({ invoice: true, levelsRecorded: 2, lowestCrossed: '500', amountToBill: '500.00' });
  });

  describe('a plan change mid-period to other thresholds (the plan in force decides, amounts already invoiced count as passed)', () => {
    it('thresholds of the new plan at or below the highest threshold invoiced, or the amount billed, are passed', () => {
      // The old plan (100, 500) invoiced level 1 at 130; the new plan's 120 is covered by the 130 billed (Lago: 120 <= invoiced usage).
      const state = after(1, '100', '130');
      expect(levelsPassed({ thresholds: ['120', '300'] }, state)).toBe(1);
      expect(progressiveInvoiceDue({ thresholds: ['120', '300'] }, '299.99', state, 'EUR')).toEqual({ invoice: false, reason: 'no_new_threshold', levelsReached: 1 });
      expect(progressiveInvoiceDue({ thresholds: ['120', '300'] }, '300', state, 'EUR')).toMatchObject({
        invoice: true, levelsReached: 2, levelsRecorded: 2, lowestCrossed: '300', highestCrossed: '300', crossedCount: 1, alreadyBilled: '130.00', amountToBill: '170.00',
      });
    });
    it('a new plan with lower thresholds only invoices above what was invoiced; levels recorded keep counting up', () => {
      // Two levels (100, 500) invoiced, 540 billed; the new plan has 50, 200, 600, 1000.
      const state = after(2, '500', '540');
      const lower = { thresholds: ['50', '200', '600', '1000'] };
      expect(levelsPassed(lower, state)).toBe(2);
      expect(progressiveInvoiceDue(lower, '599', state, 'EUR')).toMatchObject({ invoice: false });
      expect(progressiveInvoiceDue(lower, '1000', state, 'EUR')).toMatchObject({ invoice: true, levelsReached: 4, levelsRecorded: 4, lowestCrossed: '600', crossedCount: 2, amountToBill: '460.00' });
    });
    it('a new plan with higher thresholds: its first threshold is new even if the old plan had invoiced more levels', () => {
      const state = after(2, '500', '520');
      expect(progressiveInvoiceDue({ thresholds: ['1000'] }, '1000', state, 'EUR')).toMatchObject({ invoice: true, levelsReached: 1, levelsRecorded: 3, crossedCount: 1, amountToBill: '480.00' });
    });
    it('recurring steps of the new plan are passed up to what was invoiced', () => {
      expect(levelsPassed({ recurring: '50' }, after(1, '100', '130'))).toBe(2);
      expect(progressiveInvoiceDue({ recurring: '50' }, '150', after(1, '100', '130'), 'EUR')).toMatchObject({ invoice: true, levelsRecorded: 2, lowestCrossed: '150', amountToBill: '20.00' });
    });
  });

  it('recurring: every further step above the largest threshold, each once', () => {
    const recurring = { thresholds: ['100'], recurring: '100' };
    const first = progressiveInvoiceDue(recurring, '100', none, 'EUR');
    expect(first).toMatchObject({ invoice: true, levelsReached: 1, amountToBill: '100.00' });
    expect(progressiveInvoiceDue(recurring, '199.99', after(1, '100', '100'), 'EUR')).toMatchObject({ invoice: false });
    expect(progressiveInvoiceDue(recurring, '200', after(1, '100', '100'), 'EUR')).toMatchObject({ invoice: true, levelsReached: 2, highestCrossed: '200', amountToBill: '100.00' });
    // Levels are fixed amounts (100 + k·100), not "100 more than the last invoice".
    expect(progressiveInvoiceDue(recurring, '310', after(2, '200', '250'), 'EUR')).toMatchObject({ invoice: true, levelsReached: 3, highestCrossed: '300', amountToBill: '60.00' });
    expect(progressiveInvoiceDue({ recurring: '0.5' }, '1.74', none, 'EUR')).toMatchObject({ invoice: true, levelsReached: 3, lowestCrossed: '0.5', highestCrossed: '1.5' });
  });

  it('works in the currency minor unit: JPY whole yen, KWD three decimals, half away from zero', () => {
    expect(progressiveInvoiceDue({ thresholds: ['1000'] }, '999.5', none, 'JPY')).toMatchObject({ invoice: true, amountSoFar: '1000', amountToBill: '1000' });
    expect(progressiveInvoiceDue({ thresholds: ['1000'] }, '999.49', none, 'JPY')).toMatchObject({ invoice: false });
    expect(progressiveInvoiceDue({ thresholds: ['10.5'] }, '10.4995', none, 'KWD')).toMatchObject({ invoice: true, amountSoFar: '10.500', alreadyBilled: '0.000' });
    expect(progressiveInvoiceDue({ thresholds: ['10.5'] }, '10.4994', none, 'KWD')).toMatchObject({ invoice: false });
  });
});

describe('progressiveBillingIssues', () => {
  it('accepts thresholds, recurring, or both', () => {
    expect(progressiveBillingIssues({ thresholds: ['100', '500'] }, 'EUR')).toEqual([]);
    expect(progressiveBillingIssues({ recurring: '50.25' }, 'EUR')).toEqual([]);
    expect(progressiveBillingIssues({ thresholds: ['500', '100'], recurring: '500' }, 'EUR')).toEqual([]);
    expect(progressiveBillingIssues({ thresholds: ['1000'] }, 'JPY')).toEqual([]);
  });

  it('refuses empty terms, non-positive, duplicate, oversized and over-precise amounts', () => {
    expect(progressiveBillingIssues({}, 'EUR')).toEqual([{ path: [], message: 'needs thresholds, a recurring amount or both' }]);
    expect(progressiveBillingIssues({ thresholds: [] }, 'EUR')).toHaveLength(1);
    expect(progressiveBillingIssues({ thresholds: ['0', '-5'] }, 'EUR')).toEqual([
      { path: ['thresholds', 0], message: 'must be more than 0' },
      { path: ['thresholds', 1], message: 'must be more than 0' },
    ]);
    expect(progressiveBillingIssues({ thresholds: ['100', '100.00'] }, 'EUR')).toEqual([{ path: ['thresholds', 1], message: 'threshold 100 is listed twice' }]);
    expect(progressiveBillingIssues({ recurring: '1000000000000.01' }, 'EUR')).toEqual([{ path: ['recurring'], message: 'must be at most 1000000000000' }]);
    expect(progressiveBillingIssues({ thresholds: ['10.5'] }, 'JPY')).toEqual([{ path: ['thresholds', 0], message: 'has more decimals than JPY has (0)' }]);
    expect(progressiveBillingIssues({ recurring: '0.001' }, 'EUR')).toEqual([{ path: ['recurring'], message: 'has more decimals than EUR has (2)' }]);
    expect(progressiveBillingIssues({ thresholds: ['abc'] }, 'EUR')).toEqual([{ path: ['thresholds', 0], message: 'must be a decimal amount' }]);
    expect(progressiveBillingIssues({ thresholds: Array.from({ length: 21 }, (_, i) => String(i + 1)) }, 'EUR')).toEqual([{ path: ['thresholds'], message: 'at most 20 thresholds' }]);
  });
});

describe('progressiveCreditLine', () => {
  it('nets what was billed progressively, in the currency minor unit', () => {
    expect(progressiveCreditLine(2, '600', 'EUR')).toEqual({ code: 'progressive_billing', description: 'Already billed progressively in this period (2 invoices)', units: '2', amount: '-600.00' });
    expect(progressiveCreditLine(1, '1000', 'JPY')).toMatchObject({ units: '1', amount: '-1000', description: expect.stringContaining('(1 invoice)') });
  });

  it('is nothing without progressive invoices', () => {
    expect(progressiveCreditLine(0, '0', 'EUR')).toBeNull();
    expect(progressiveCreditLine(1, '0', 'EUR')).toBeNull();
  });
});
