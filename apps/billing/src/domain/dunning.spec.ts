import { accountStanding, nextPaymentAttempt, type DunningPolicy, type UnpaidInvoice } from './dunning';

const policy: DunningPolicy = { retryDays: [1, 3, 7], pastDueAfterDays: 0, delinquentAfterDays: 30 };
const day = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 86_400_000);
const inv = (over: Partial<UnpaidInvoice>): UnpaidInvoice => ({ status: 'finalized', dueAt: day(0), lastPaymentFailedAt: null, ...over });

describe('accountStanding', () => {
  it('is good standing with nothing unpaid or nothing due yet', () => {
    expect(accountStanding([], day(5), policy)).toEqual({ status: 'good_standing', overdueInvoices: 0 });
    expect(accountStanding([inv({ dueAt: day(10) })], day(5), policy)).toEqual({ status: 'good_standing', overdueInvoices: 0 });
    // Due right now and not yet failed: not overdue until the moment passes.
    expect(accountStanding([inv({ dueAt: day(5) })], day(5), policy)).toEqual({ status: 'good_standing', overdueInvoices: 0 });
  });

  it('is past_due as soon as a payment failed (pastDueAfterDays 0)', () => {
    expect(accountStanding([inv({ status: 'payment_failed', lastPaymentFailedAt: day(0) })], day(0), policy)).toEqual({ status: 'past_due', overdueInvoices: 1 });
  });

  it('a failed payment before the due date makes the invoice overdue from the failure', () => {
    const failedEarly = inv({ status: 'payment_failed', dueAt: day(14), lastPaymentFailedAt: day(1) });
    expect(accountStanding([failedEarly], day(2), policy).status).toBe('past_due');
    expect(accountStanding([failedEarly], day(31), policy).status).toBe('delinquent');
  });

  it('turns delinquent after delinquentAfterDays overdue, counting the worst invoice', () => {
    const invoices = [inv({ dueAt: day(0) }), inv({ dueAt: day(20) })];
    expect(accountStanding(invoices, day(29), policy)).toEqual({ status: 'past_due', overdueInvoices: 2 });
    expect(accountStanding(invoices, day(30), policy)).toEqual({ status: 'delinquent', overdueInvoices: 2 });
  });

  it('waits pastDueAfterDays before past_due, reporting the overdue count meanwhile', () => {
    const lenient = { ...policy, pastDueAfterDays: 3 };
    expect(accountStanding([inv({})], day(2), lenient)).toEqual({ status: 'good_standing', overdueInvoices: 1 });
    expect(accountStanding([inv({})], day(3), lenient)).toEqual({ status: 'past_due', overdueInvoices: 1 });
  });
});

describe('nextPaymentAttempt', () => {
  it('follows the retry schedule and stops after it', () => {
    expect(nextPaymentAttempt(1, day(0), policy)).toEqual(day(1));
    expect(nextPaymentAttempt(2, day(1), policy)).toEqual(day(4));
    expect(nextPaymentAttempt(3, day(4), policy)).toEqual(day(11));
    expect(nextPaymentAttempt(4, day(11), policy)).toBeNull();
  });
});
