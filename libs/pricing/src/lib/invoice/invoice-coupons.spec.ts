import { PricingError } from '../charge-model';
import { priceCharge } from '../charges';
import { composeInvoice } from './invoice-composer';
import type { Invoice, InvoiceCouponInput, InvoiceInput } from './invoice-types';

// Hand-computed expectations; Lago's order: fees → commitment true-up → coupons → tax → prepaid credits.
const APRIL = { start: '2025-04-01T00:00:00Z', end: '2025-05-01T00:00:00Z' };
const compose = (over: Partial<InvoiceInput>, currency = 'EUR'): Invoice => composeInvoice({ currency, period: APRIL, ...over }, priceCharge);
const usage = (units: string, amount = '1') => [{ code: 'api', meter: 'api', model: 'standard', properties: { amount }, usage: { units } }];
const fixed = (id: string, amount: string): InvoiceCouponInput => ({ id, code: id, kind: 'fixed_amount', amount });
const pct = (id: string, percent: string): InvoiceCouponInput => ({ id, code: id, kind: 'percentage', percent });
const couponLines = (inv: Invoice) => inv.lines.filter((l) => l.code.startsWith('coupon:')).map((l) => [l.code, l.amount]);

describe('composeInvoice with coupons', () => {
  it('takes a fixed amount off before tax, and the tax is on what is left', () => {
    const inv = compose({ baseFee: { amount: '100' }, coupons: [fixed('c1', '25')], taxRatePercent: '20' });
    expect(couponLines(inv)).toEqual([['coupon:c1', '-25.00']]);
    expect(inv).toMatchObject({ subtotal: '100.00', discountTotal: '25.00', taxableAmount: '75.00', tax: '15.00', total: '90.00', amountDue: '90.00' });
    expect(inv.couponsApplied).toEqual([{ id: 'c1', code: 'c1', amount: '25.00' }]);
    expect(inv.lines.map((l) => l.kind)).toEqual(['base_fee', 'discount', 'tax']);
  });

  it('never makes the invoice negative: a fixed coupon larger than the invoice takes what there is', () => {
    const inv = compose({ charges: usage('30'), coupons: [fixed('big', '50'), fixed('next', '10')], taxRatePercent: '19' });
    expect(inv.couponsApplied).toEqual([{ id: 'big', code: 'big', amount: '30.00' }, { id: 'next', code: 'next', amount: '0.00' }]);
    expect(couponLines(inv)).toEqual([['coupon:big', '-30.00']]);
    expect(inv).toMatchObject({ taxableAmount: '0.00', tax: '0.00', total: '0.00', amountDue: '0.00' });
  });

  it('applies coupons in the order given, each on what the previous left', () => {
    // 200 − 50 = 150; 10 % of 150 = 15; 135 left; 19 % tax = 25.65.
    const inv = compose({ baseFee: { amount: '200' }, coupons: [fixed('a', '50'), pct('b', '10')], taxRatePercent: '19' });
    expect(couponLines(inv)).toEqual([['coupon:a', '-50.00'], ['coupon:b', '-15.00']]);
    expect(inv).toMatchObject({ taxableAmount: '135.00', tax: '25.65', total: '160.65' });
    // The other order: 10 % of 200 = 20, then 50: 130.
    expect(compose({ baseFee: { amount: '200' }, coupons: [pct('b', '10'), fixed('a', '50')] }).taxableAmount).toBe('130.00');
  });

  it('comes after the commitment true-up and the plan discounts, and before prepaid credits', () => {
    // Usage 40, minimum 100: true-up 60; CUD 10 % of usage = 4; coupon 20 % of 96 = 19.20; 76.80; tax 10 % 7.68 = 84.48; wallet 50.
    const inv = compose({
      charges: usage('40'), minimumCommitment: { amount: '100' }, committedUseDiscount: { percent: '10' },
      coupons: [pct('p', '20')], taxRatePercent: '10', prepaidCredits: { balance: '50' },
    });
    expect(inv.lines.map((l) => l.code)).toEqual(['api', 'minimum_commitment', 'committed_use_discount', 'coupon:p', 'tax', 'prepaid_credits']);
    expect(inv).toMatchObject({ subtotal: '100.00', discountTotal: '23.20', taxableAmount: '76.80', tax: '7.68', total: '84.48', creditsApplied: '50.00', amountDue: '34.48' });
  });

  it('rounds each coupon once to the minor unit, half away from zero, in the currency', () => {
    // 33.33 × 15 % = 4.9995 → 5.00.
    expect(compose({ baseFee: { amount: '33.33' }, coupons: [pct('p', '15')] }).couponsApplied).toEqual([{ id: 'p', code: 'p', amount: '5.00' }]);
    // JPY has no minor unit: 1001 × 12.5 % = 125.125 → 125; a fixed 10.6 → 11.
    expect(compose({ baseFee: { amount: '1001' }, coupons: [pct('p', '12.5'), fixed('f', '10.6')] }, 'JPY').couponsApplied!.map((c) => c.amount)).toEqual(['125', '11']);
    // KWD has three: 10 × 33.3335 % = 3.333335 → 3.333.
    expect(compose({ baseFee: { amount: '10' }, coupons: [pct('p', '33.3335')] }, 'KWD').couponsApplied![0].amount).toBe('3.333');
  });

  it('a 100 % coupon leaves nothing; 0 % or 0 off adds no line', () => {
    expect(compose({ baseFee: { amount: '10' }, coupons: [pct('all', '100')], taxRatePercent: '19' })).toMatchObject({ total: '0.00', discountTotal: '10.00' });
    const none = compose({ baseFee: { amount: '10' }, coupons: [pct('zero', '0'), fixed('nil', '0')] });
    expect(couponLines(none)).toEqual([]);
    expect(none.couponsApplied!.map((c) => c.amount)).toEqual(['0.00', '0.00']);
  });

  it('takes nothing from an invoice that is already negative (a downgrade credit), which still goes to the wallet', () => {
    const inv = compose({
      baseFee: { amount: '10', proration: { from: '2025-04-16T00:00:00Z', to: '2025-05-01T00:00:00Z' } },
      planChange: { changeAt: '2025-04-16T00:00:00Z', previousBaseFee: { amount: '100', payInAdvance: true } },
      coupons: [fixed('f', '5')],
    });
    expect(inv.couponsApplied).toEqual([{ id: 'f', code: 'f', amount: '0.00' }]);
    expect(Number(inv.total)).toBeLessThan(0);
    expect(inv.amountDue).toBe('0.00');
  });

  it('an invoice without coupons has no couponsApplied (unchanged documents)', () => {
    expect(compose({ baseFee: { amount: '10' } })).not.toHaveProperty('couponsApplied');
  });

  it.each([
    [{ id: 'x', code: 'x', kind: 'percentage', percent: '101' }, /coupons\[0\]\.percent must be at most 100/],
    [{ id: 'x', code: 'x', kind: 'percentage', percent: '-1' }, /coupons\[0\]\.percent must not be negative/],
    [{ id: 'x', code: 'x', kind: 'percentage' }, /coupons\[0\]\.percent/],
    [{ id: 'x', code: 'x', kind: 'fixed_amount', amount: '-5' }, /coupons\[0\]\.amount must not be negative/],
    [{ id: 'x', code: 'x', kind: 'fixed_amount', amount: 'NaN' }, /coupons\[0\]\.amount/],
    [{ id: 'x', code: 'x', kind: 'fixed_amount', amount: '0x10' }, /coupons\[0\]\.amount/],
    [{ id: 'x', code: 'x', kind: 'bogo' }, /coupons\[0\]\.kind must be/],
    [{ id: '', code: 'x', kind: 'fixed_amount', amount: '1' }, /coupons\[0\]\.id and \.code are required/],
  ])('refuses the coupon %j', (coupon, message) => {
    expect(() => compose({ baseFee: { amount: '10' }, coupons: [coupon as InvoiceCouponInput] })).toThrow(PricingError);
    expect(() => compose({ baseFee: { amount: '10' }, coupons: [coupon as InvoiceCouponInput] })).toThrow(message);
  });
});
