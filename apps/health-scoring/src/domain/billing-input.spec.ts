import { billingInput } from './billing-input';

const NOW = new Date('2026-06-30T00:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);

describe('billingInput', () => {
  it('maps standing: good or unknown 100, past due 40, delinquent 0', () => {
    expect(billingInput(null, [], NOW).value).toBe(100);
    expect(billingInput('good_standing', [], NOW).value).toBe(100);
    expect(billingInput('past_due', [], NOW).value).toBe(40);
    expect(billingInput('delinquent', [], NOW).value).toBe(0);
  });

  it('takes 15 per invoice paid late and 25 per failed payment within 90 days', () => {
    const late = { dueAt: daysAgo(20), paidAt: daysAgo(10), firstFailedAt: null };
    const failed = { dueAt: daysAgo(20), paidAt: daysAgo(5), firstFailedAt: daysAgo(19) };
    const onTime = { dueAt: daysAgo(20), paidAt: daysAgo(20), firstFailedAt: null };
    expect(billingInput('good_standing', [late, failed, onTime], NOW)).toEqual({ value: 60, standing: 'good_standing', failedInvoices: 1, latePaidInvoices: 1 });
  });

  it('forgets what happened 90 days ago or earlier (boundary exclusive)', () => {
    const failed = (d: number) => ({ dueAt: null, paidAt: null, firstFailedAt: daysAgo(d) });
    expect(billingInput('good_standing', [failed(90)], NOW).value).toBe(100);
    expect(billingInput('good_standing', [failed(89.99)], NOW).value).toBe(75);
    expect(billingInput('good_standing', [{ dueAt: daysAgo(100), paidAt: daysAgo(90), firstFailedAt: null }], NOW).value).toBe(100);
  });

  it('paid exactly at the due time is on time; an unpaid invoice is the account status\'s business', () => {
    expect(billingInput('good_standing', [{ dueAt: daysAgo(3), paidAt: daysAgo(3), firstFailedAt: null }], NOW).value).toBe(100);
    expect(billingInput('good_standing', [{ dueAt: daysAgo(3), paidAt: null, firstFailedAt: null }], NOW).value).toBe(100);
  });

  it('never goes below 0', () => {
    const failed = { dueAt: null, paidAt: null, firstFailedAt: daysAgo(1) };
    expect(billingInput('past_due', [failed, failed], NOW).value).toBe(0);
  });
});
