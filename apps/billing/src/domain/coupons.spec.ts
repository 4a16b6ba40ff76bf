import { composeInvoice, priceCharge } from '@tally/pricing';
import { consumeCoupon, couponDefinitionSchema, couponInput, couponsForInvoice, newAppliedCoupon, type AppliedCoupon, type CouponDefinition } from './coupons';

const fixedOnce: CouponDefinition = { code: 'welcome', name: 'Welcome', kind: 'fixed_amount', amount: '50', currency: 'EUR', frequency: 'once' };
const tenPct3: CouponDefinition = { code: 'ten', name: 'Ten', kind: 'percentage', percent: '10', frequency: 'recurring', periods: 3 };
let n = 0;
const applied = (coupon: CouponDefinition, over: Partial<AppliedCoupon> = {}): AppliedCoupon => ({
  id: `a-${++n}`, coupon, subscriptionId: null, appliedAt: new Date(Date.UTC(2026, 0, n)), ...newAppliedCoupon(coupon), ...over,
});

describe('couponDefinitionSchema', () => {
  it('accepts Lago-shaped coupons', () => {
    for (const c of [fixedOnce, tenPct3, { ...fixedOnce, frequency: 'forever' }, { ...tenPct3, frequency: 'once', periods: undefined, planCodes: ['pro'] }]) {
      expect(couponDefinitionSchema.safeParse(c).success).toBe(true);
    }
  });

  it.each([
    [{ ...fixedOnce, amount: undefined }, ['amount']],
    [{ ...fixedOnce, currency: undefined }, ['currency']],
    [{ ...fixedOnce, percent: '5' }, ['percent']],
    [{ ...fixedOnce, amount: '0' }, ['amount']],
    [{ ...fixedOnce, amount: '-5' }, ['amount']],
    [{ ...fixedOnce, amount: '1e3' }, ['amount']],
    [{ ...tenPct3, percent: '100.01' }, ['percent']],
    [{ ...tenPct3, periods: undefined }, ['periods']],
    [{ ...tenPct3, periods: 0 }, ['periods']],
    [{ ...fixedOnce, periods: 2 }, ['periods']],
    [{ ...tenPct3, amount: '5' }, ['amount']],
    [{ ...fixedOnce, code: 'has space' }, ['code']],
    [{ ...fixedOnce, planCodes: [] }, ['planCodes']],
    [{ ...fixedOnce, extra: 1 }, []],
  ])('refuses %j naming the field', (c, paths) => {
    const result = couponDefinitionSchema.safeParse(c);
    expect(result.success).toBe(false);
    for (const p of paths) expect(result.error!.issues.map((i) => i.path[0])).toContain(p);
  });
});

describe('couponsForInvoice', () => {
  const invoice = { subscriptionId: 's-1', planCode: 'pro', currency: 'EUR' };

  it("orders Lago's way: plan-limited coupons first, then the others, each by the date applied", () => {
    const late = applied(fixedOnce, { appliedAt: new Date('2026-03-01') });
    const early = applied(tenPct3, { appliedAt: new Date('2026-01-01') });
    const limited = applied({ ...fixedOnce, code: 'pro-only', planCodes: ['pro'] }, { appliedAt: new Date('2026-06-01') });
    expect(couponsForInvoice([late, early, limited], invoice).map((a) => a.coupon.code)).toEqual(['pro-only', 'ten', 'welcome']);
  });

  it('keeps only active coupons of this subscription (or the whole customer), plan and currency', () => {
    const out = [
      applied(fixedOnce, { status: 'terminated' }),
      applied(fixedOnce, { subscriptionId: 's-2' }),
      applied({ ...fixedOnce, planCodes: ['basic'] }),
      applied({ ...fixedOnce, currency: 'USD' }),
    ];
    const kept = [applied(fixedOnce, { subscriptionId: 's-1' }), applied({ ...tenPct3, planCodes: ['basic', 'pro'] }), applied(tenPct3)];
    expect(couponsForInvoice([...out, ...kept], invoice).map((a) => a.id).sort()).toEqual(kept.map((a) => a.id).sort());
  });
});

describe('consumeCoupon', () => {
  it('a once fixed amount carries its unused part over to the next invoices, and ends when used up', () => {
    const a = applied(fixedOnce);
    const first = consumeCoupon(a, '30.00');
    expect(first).toEqual({ status: 'active', amountRemaining: '20', periodsRemaining: null });
    expect(consumeCoupon({ ...a, ...first }, '0.00')).toEqual({ status: 'active', amountRemaining: '20', periodsRemaining: null });
    expect(consumeCoupon({ ...a, ...first }, '20.00')).toEqual({ status: 'terminated', amountRemaining: '0', periodsRemaining: null });
  });

  it('a once percentage ends after one invoice, whatever it took', () => {
    expect(consumeCoupon(applied({ ...tenPct3, frequency: 'once', periods: undefined }), '0.00').status).toBe('terminated');
  });

  it('a recurring coupon counts invoices down and ends at zero; an unused part is not carried over', () => {
    let a = applied({ ...fixedOnce, frequency: 'recurring', periods: 2 });
    expect(couponInput(a)).toMatchObject({ kind: 'fixed_amount', amount: '50' });
    a = { ...a, ...consumeCoupon(a, '10.00') };
    expect(a).toMatchObject({ status: 'active', periodsRemaining: 1 });
    expect(couponInput(a)).toMatchObject({ amount: '50' });
    a = { ...a, ...consumeCoupon(a, '50.00') };
    expect(a).toMatchObject({ status: 'terminated', periodsRemaining: 0 });
  });

  it('forever never ends', () => {
    const a = applied({ ...tenPct3, frequency: 'forever', periods: undefined });
    expect(consumeCoupon(a, '99.00')).toEqual({ status: 'active', amountRemaining: null, periodsRemaining: null });
  });

  it('over three invoices a once 50 coupon takes 30, 20, then nothing, through the composer', () => {
    let a = applied(fixedOnce);
    const taken: string[] = [];
    for (let i = 0; i < 3; i++) {
      const inv = composeInvoice({ currency: 'EUR', period: { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' }, baseFee: { amount: '30' },
        coupons: a.status === 'active' ? [couponInput(a)] : [] }, priceCharge);
      const used = inv.couponsApplied?.[0]?.amount ?? '0.00';
      taken.push(used);
      if (a.status === 'active') a = { ...a, ...consumeCoupon(a, used) };
    }
    expect(taken).toEqual(['30.00', '20.00', '0.00']);
    expect(a.status).toBe('terminated');
  });
});
