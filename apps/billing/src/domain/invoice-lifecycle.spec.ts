import {
  canTransition,
  closeDecision,
  creditWalletChange,
  finalization,
  INVOICE_STATUSES,
  isOpen,
  lateUnits,
  pauseCreditLine,
  pausedMsSoFar,
  paymentDecision,
  voidRefusal,
  type InvoiceStatus,
  type PaymentReport,
} from './invoice-lifecycle';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const policy = { retryDays: [1, 3], pastDueAfterDays: 0, delinquentAfterDays: 30 };

describe('invoice status transitions', () => {
  const allowed: Array<[InvoiceStatus, InvoiceStatus]> = [
    ['draft', 'draft'], ['draft', 'finalized'], ['draft', 'paid'],
    ['finalized', 'paid'], ['finalized', 'payment_failed'], ['finalized', 'void'],
    ['payment_failed', 'paid'], ['payment_failed', 'payment_failed'], ['payment_failed', 'void'],
  ];
  it.each(INVOICE_STATUSES.flatMap((from) => INVOICE_STATUSES.map((to) => [from, to] as [InvoiceStatus, InvoiceStatus])))('%s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(allowed.some(([f, t]) => f === from && t === to));
  });

  it('paid and void are final; only finalized and payment_failed are open', () => {
    expect(INVOICE_STATUSES.filter(isOpen)).toEqual(['finalized', 'payment_failed']);
    for (const to of INVOICE_STATUSES) expect([canTransition('paid', to), canTransition('void', to)]).toEqual([false, false]);
  });
});

describe('closeDecision', () => {
  const end = new Date('2027-04-01T00:00:00Z');
  it('a period without an invoice gets a draft, finalized only once the grace period is over (at exactly its end)', () => {
    expect(closeDecision(null, end, new Date(end.getTime() + HOUR - 1), HOUR)).toEqual({ kind: 'compose', createDraft: true, finalize: false });
    expect(closeDecision(null, end, new Date(end.getTime() + HOUR), HOUR)).toEqual({ kind: 'compose', createDraft: true, finalize: true });
    expect(closeDecision(null, end, end, 0)).toEqual({ kind: 'compose', createDraft: true, finalize: true });
  });
  it('a draft is re-priced (not created again) and finalized after the grace period', () => {
    expect(closeDecision({ status: 'draft' }, end, end, HOUR)).toEqual({ kind: 'compose', createDraft: false, finalize: false });
    expect(closeDecision({ status: 'draft' }, end, new Date(end.getTime() + 2 * HOUR), HOUR)).toEqual({ kind: 'compose', createDraft: false, finalize: true });
  });
  it.each(['finalized', 'paid', 'payment_failed', 'void'] as const)('a %s invoice is left alone, whatever the clock says', (status) => {
    expect(closeDecision({ status }, end, new Date(end.getTime() + 100 * DAY), HOUR)).toEqual({ kind: 'skip' });
  });
});

describe('finalization', () => {
  const now = new Date('2027-04-02T10:00:00Z');
  it('nothing due: paid at once (also a negative amount written as zero)', () => {
    expect(finalization('0.00', now, 14)).toEqual({ status: 'paid', finalizedAt: now, dueAt: new Date(now.getTime() + 14 * DAY), paidAt: now });
    expect(finalization('-0', now, 0).status).toBe('paid');
  });
  it('something due: finalized, due after the payment terms (0 days: at once)', () => {
    expect(finalization('0.01', now, 0)).toEqual({ status: 'finalized', finalizedAt: now, dueAt: now, paidAt: null });
    expect(finalization('100', now, 30).dueAt).toEqual(new Date('2027-05-02T10:00:00Z'));
  });
});

describe('creditWalletChange', () => {
  it('none when the invoice used no credits, in any spelling', () => {
    expect(creditWalletChange('10', '10.00')).toBeNull();
    expect(creditWalletChange('0', '0')).toBeNull();
  });
  it('the new balance and the signed amount used (or added, a negative invoice)', () => {
    expect(creditWalletChange('50', '12.50')).toEqual({ balance: '12.50', amount: '-37.5' });
    expect(creditWalletChange('30', '0.00')).toEqual({ balance: '0.00', amount: '-30' });
    expect(creditWalletChange('0', '3.20')).toEqual({ balance: '3.20', amount: '3.2' });
  });
});

it('lateUnits: the difference to what was invoiced, decimals exact', () => {
  expect(lateUnits({ units: '120', invoicedUnits: '100' })).toBe('20');
  expect(lateUnits({ units: '0.3', invoicedUnits: '0.1' })).toBe('0.2');
});

describe('pause credit', () => {
  const nominal = { start: new Date('2027-04-01T00:00:00Z'), end: new Date('2027-05-01T00:00:00Z') };
  const periodEnd = nominal.end;
  it('closed pauses plus a running one up to now, at most the period end; a pause "from the future" adds nothing', () => {
    expect(pausedMsSoFar({ pausedMs: '1000', pausedAt: null, periodEnd }, new Date('2027-04-10T00:00:00Z'))).toBe(1000);
    expect(pausedMsSoFar({ pausedMs: '0', pausedAt: new Date('2027-04-10T00:00:00Z'), periodEnd }, new Date('2027-04-12T00:00:00Z'))).toBe(2 * DAY);
    expect(pausedMsSoFar({ pausedMs: String(DAY), pausedAt: new Date('2027-04-29T00:00:00Z'), periodEnd }, new Date('2027-06-01T00:00:00Z'))).toBe(3 * DAY);
    expect(pausedMsSoFar({ pausedMs: '5', pausedAt: new Date('2027-04-20T00:00:00Z'), periodEnd }, new Date('2027-04-19T00:00:00Z'))).toBe(5);
  });
  it('whole days only: a day less a millisecond credits nothing, exactly a day credits one', () => {
    expect(pauseCreditLine(DAY - 1, '30', nominal, 'UTC')).toBeNull();
    expect(pauseCreditLine(DAY, '30', nominal, 'UTC')).toEqual({ code: 'pause_credit', description: 'Paused 1 of 30 days: base fee credited', units: '1', amount: '-1' });
    expect(pauseCreditLine(10 * DAY + HOUR, '30', nominal, 'UTC')!.amount).toBe('-10');
  });
  it('no base fee, nothing to credit', () => {
    expect(pauseCreditLine(5 * DAY, '0', nominal, 'UTC')).toBeNull();
  });
  it('counts the period days in the customer zone (a 31-day month)', () => {
    const march = { start: new Date('2027-02-28T23:00:00Z'), end: new Date('2027-03-31T22:00:00Z') };
    expect(pauseCreditLine(2 * DAY, '31', march, 'Europe/Berlin')).toMatchObject({ description: 'Paused 2 of 31 days: base fee credited', amount: '-2' });
  });
});

describe('paymentDecision', () => {
  const at = new Date('2027-04-05T12:00:00Z');
  const report = (over: Partial<PaymentReport> = {}): PaymentReport => ({ paymentId: 'pay-1', customer: 'c', invoiceId: 'inv-1', outcome: 'succeeded', amount: '10.00', occurredAt: at, ...over });
  const open = { status: 'finalized' as const, amountDue: '10.00', paymentAttempts: 0 };

  it('succeeded for the amount due, in any spelling: paid at the report time', () => {
    expect(paymentDecision(report(), open, null, policy)).toEqual({ kind: 'paid', paidAt: at });
    expect(paymentDecision(report({ amount: '10' }), { ...open, status: 'payment_failed', paymentAttempts: 2 }, null, policy)).toEqual({ kind: 'paid', paidAt: at });
  });
  it('another amount is refused (partial payments are not modelled)', () => {
    expect(paymentDecision(report({ amount: '9.99' }), open, null, policy)).toEqual({ kind: 'refuse', reason: 'payment of 9.99 does not match the 10.00 due on invoice "inv-1"' });
  });
  it('failed: attempts + 1 and the next attempt from the schedule; none once it is used up', () => {
    expect(paymentDecision(report({ outcome: 'failed' }), open, null, policy)).toEqual({ kind: 'failed', attempts: 1, failedAt: at, nextAttemptAt: new Date(at.getTime() + DAY) });
    expect(paymentDecision(report({ outcome: 'failed' }), { ...open, status: 'payment_failed', paymentAttempts: 1 }, null, policy)).toMatchObject({ attempts: 2, nextAttemptAt: new Date(at.getTime() + 3 * DAY) });
    expect(paymentDecision(report({ outcome: 'failed' }), { ...open, status: 'payment_failed', paymentAttempts: 2 }, null, policy)).toMatchObject({ attempts: 3, nextAttemptAt: null });
  });
  it('no invoice, or a draft: refused', () => {
    const reason = 'no finalized invoice "inv-1" of customer "c"';
    expect(paymentDecision(report(), null, null, policy)).toEqual({ kind: 'refuse', reason });
    expect(paymentDecision(report({ outcome: 'failed' }), { ...open, status: 'draft' }, null, policy)).toEqual({ kind: 'refuse', reason });
  });
  it('a paid invoice takes any later report without change', () => {
    for (const outcome of ['succeeded', 'failed'] as const) expect(paymentDecision(report({ outcome, amount: '1' }), { ...open, status: 'paid' }, null, policy)).toEqual({ kind: 'remember' });
  });
  it('a void invoice: money taken is refused, a failure only remembered', () => {
    expect(paymentDecision(report(), { ...open, status: 'void' }, null, policy)).toEqual({ kind: 'refuse', reason: 'invoice "inv-1" is void but a payment of 10.00 succeeded' });
    expect(paymentDecision(report({ outcome: 'failed' }), { ...open, status: 'void' }, null, policy)).toEqual({ kind: 'remember' });
  });
  it('a payment id seen before: the same report is a duplicate (whatever the invoice is now), another one refused with both versions', () => {
    const seen = { customer: 'c', invoiceId: 'inv-1', outcome: 'failed', amount: '10.00' };
    expect(paymentDecision(report({ outcome: 'failed', amount: '10' }), { ...open, status: 'paid' }, seen, policy)).toEqual({ kind: 'duplicate' });
    expect(paymentDecision(report(), open, seen, policy)).toEqual({
      kind: 'refuse',
      reason: 'payment "pay-1" was already applied as failed of 10.00 for invoice "inv-1"; this report says succeeded of 10.00 for invoice "inv-1"',
    });
    expect(paymentDecision(report({ outcome: 'failed', invoiceId: 'inv-2' }), null, seen, policy).kind).toBe('refuse');
    expect(paymentDecision(report({ outcome: 'failed', customer: 'd' }), open, seen, policy).kind).toBe('refuse');
  });
});

describe('voidRefusal', () => {
  it('404 for no invoice', () => expect(voidRefusal(null, 'x')).toEqual({ status: 404, title: 'no invoice "x"' }));
  it.each(['finalized', 'payment_failed'] as const)('a %s invoice can be voided', (status) => expect(voidRefusal({ status }, 'x')).toBeNull());
  it.each(['draft', 'paid', 'void'] as const)('a %s invoice cannot (409)', (status) => expect(voidRefusal({ status }, 'x')).toEqual({ status: 409, title: `a ${status} invoice cannot be voided` }));
});
