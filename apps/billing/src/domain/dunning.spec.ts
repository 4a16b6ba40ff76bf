import { accountStanding, nextPaymentAttempt, paymentAttemptDue, paymentFailureNotice, standingNotice, type DunningPolicy, type RetryCandidate, type UnpaidInvoice } from './dunning';

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

describe('dunning notices', () => {
  it('tells a failed payment with a retry left from the last one', () => {
    expect(paymentFailureNotice(day(1))).toBe('payment_failed');
    expect(paymentFailureNotice(null)).toBe('final_notice');
  });

  it.each([
    ['good_standing', 'past_due', 'account_past_due'],
    ['good_standing', 'delinquent', 'account_delinquent'],
    ['past_due', 'delinquent', 'account_delinquent'],
    ['past_due', 'past_due', null],
    ['delinquent', 'past_due', null],
    ['delinquent', 'good_standing', null],
    ['past_due', 'good_standing', null],
  ] as const)('from %s to %s sends %s', (from, to, notice) => {
    expect(standingNotice(from, to)).toBe(notice);
  });
});

describe('paymentAttemptDue', () => {
  const failed = (over: Partial<RetryCandidate>): RetryCandidate => ({ status: 'payment_failed', paymentAttempts: 1, nextPaymentAttemptAt: day(1), retryRequestedAttempt: 0, ...over });

  it('requests attempt n+1 once its time has come, at the instant included', () => {
    expect(paymentAttemptDue(failed({}), new Date(day(1).getTime() - 1))).toBeNull();
    expect(paymentAttemptDue(failed({}), day(1))).toBe(2);
    expect(paymentAttemptDue(failed({ paymentAttempts: 3, nextPaymentAttemptAt: day(7), retryRequestedAttempt: 3 }), day(8))).toBe(4);
  });

  it('requests each attempt once', () => {
    expect(paymentAttemptDue(failed({ retryRequestedAttempt: 2 }), day(2))).toBeNull();
    expect(paymentAttemptDue(failed({ retryRequestedAttempt: 5 }), day(2))).toBeNull();
  });

  it('never retries an invoice without a next attempt, or not failed', () => {
    expect(paymentAttemptDue(failed({ nextPaymentAttemptAt: null }), day(30))).toBeNull();
    for (const status of ['draft', 'finalized', 'paid', 'void']) expect(paymentAttemptDue(failed({ status }), day(30))).toBeNull();
  });

  it('follows the schedule end to end: attempts 2, 3, 4 at 1, 3 and 7 days after each failure, then none', () => {
    let invoice = failed({ paymentAttempts: 0, nextPaymentAttemptAt: null, status: 'finalized' });
    const requested: number[] = [];
    let t = day(0);
    for (let i = 0; i < 5; i++) {
      // The provider reports a failure at t; the schedule sets the next attempt.
      const attempts = invoice.paymentAttempts + 1;
      invoice = { ...invoice, status: 'payment_failed', paymentAttempts: attempts, nextPaymentAttemptAt: nextPaymentAttempt(attempts, t, policy) };
      if (!invoice.nextPaymentAttemptAt) break;
      t = invoice.nextPaymentAttemptAt;
      const due = paymentAttemptDue(invoice, t);
      expect(due).not.toBeNull();
      requested.push(due!);
      invoice = { ...invoice, retryRequestedAttempt: due! };
      expect(paymentAttemptDue(invoice, t)).toBeNull();
    }
    expect(requested).toEqual([2, 3, 4]);
    expect(invoice.nextPaymentAttemptAt).toBeNull();
  });
});
