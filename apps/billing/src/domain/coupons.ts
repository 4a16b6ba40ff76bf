import { z } from 'zod';
import { decimalString } from '@tally/contracts';
import { Dec, type InvoiceCouponInput } from '@tally/pricing';

/** A coupon definition (Lago's coupon object, camelCased): what it takes off, how often, for which plans. */
export const couponDefinitionSchema = z
  .object({
    code: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be 1 to 100 letters, digits, "_", "." or "-"'),
    name: z.string().min(1).max(200),
    kind: z.enum(['fixed_amount', 'percentage']),
    /** fixed_amount: the amount, in `currency`. */
    amount: decimalString.refine((v) => new Dec(v).gt(0) && new Dec(v).lte(1_000_000_000_000), 'must be above 0 and at most 1000000000000').optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like "EUR"').optional(),
    /** percentage: the rate, in %. */
    percent: decimalString.refine((v) => new Dec(v).gt(0) && new Dec(v).lte(100), 'must be above 0 and at most 100').optional(),
    /** once (a fixed amount's unused part carries over to later invoices until used up), recurring (periods), forever. */
    frequency: z.enum(['once', 'recurring', 'forever']),
    /** recurring: the number of invoices it applies to. */
    periods: z.number().int().min(1).max(1200).optional(),
    /** Limited to these plans (codes); every plan when absent. */
    planCodes: z.array(z.string().min(1).max(200)).min(1).max(100).optional(),
    /** Not applicable to a customer after this instant (invoices of coupons already applied still use them). */
    expiresAt: z.string().datetime({ offset: true }).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const need = (ok: boolean, path: string, message: string) => ok || ctx.addIssue({ code: 'custom', path: [path], message });
    if (c.kind === 'fixed_amount') {
      need(c.amount !== undefined, 'amount', 'is required for a fixed_amount coupon');
      need(c.currency !== undefined, 'currency', 'is required for a fixed_amount coupon');
      need(c.percent === undefined, 'percent', 'is for percentage coupons only');
    } else {
      need(c.percent !== undefined, 'percent', 'is required for a percentage coupon');
      need(c.amount === undefined && c.currency === undefined, 'amount', 'amount and currency are for fixed_amount coupons only');
    }
    if (c.frequency === 'recurring') need(c.periods !== undefined, 'periods', 'is required for a recurring coupon');
    else need(c.periods === undefined, 'periods', 'is for recurring coupons only');
  });

export type CouponDefinition = z.infer<typeof couponDefinitionSchema>;

/** A coupon applied to a customer (every subscription of it) or to one subscription, and what is left of it. */
export interface AppliedCoupon {
  id: string;
  coupon: CouponDefinition;
  /** null: every subscription of the customer. */
  subscriptionId: string | null;
  appliedAt: Date;
  status: 'active' | 'terminated';
  /** fixed_amount once: what is left to take off. */
  amountRemaining: string | null;
  /** recurring: invoices left. */
  periodsRemaining: number | null;
}

/** The state a coupon starts in when it is applied. */
export function newAppliedCoupon(coupon: CouponDefinition): Pick<AppliedCoupon, 'status' | 'amountRemaining' | 'periodsRemaining'> {
  return {
    status: 'active',
    amountRemaining: coupon.kind === 'fixed_amount' && coupon.frequency === 'once' ? coupon.amount! : null,
    periodsRemaining: coupon.frequency === 'recurring' ? coupon.periods! : null,
  };
}

/**
 * The coupons an invoice uses, in the order they are deducted — Lago's (`Credits::AppliedCouponsService`):
 * coupons limited to plans first, then the others, each group by the date the coupon was applied. A
 * coupon counts for an invoice of its subscription (or of any of the customer's when applied to the
 * customer), of a plan it is limited to, and, for a fixed amount, in its currency (Lago skips the others).
 */
export function couponsForInvoice(applied: readonly AppliedCoupon[], invoice: { subscriptionId: string; planCode: string; currency: string }): AppliedCoupon[] {
  return applied
    .filter((a) => a.status === 'active')
    .filter((a) => a.subscriptionId === null || a.subscriptionId === invoice.subscriptionId)
    .filter((a) => !a.coupon.planCodes || a.coupon.planCodes.includes(invoice.planCode))
    .filter((a) => a.coupon.kind === 'percentage' || a.coupon.currency === invoice.currency)
    .sort((x, y) => Number(!x.coupon.planCodes) - Number(!y.coupon.planCodes) || x.appliedAt.getTime() - y.appliedAt.getTime() || x.id.localeCompare(y.id));
}

/** What the invoice composer gets of a coupon: a once fixed coupon offers what is left of it; a recurring one its amount per invoice. */
export function couponInput(a: AppliedCoupon): InvoiceCouponInput {
  const description = `${a.coupon.name} (${a.coupon.code})`;
  if (a.coupon.kind === 'percentage') return { id: a.id, code: a.coupon.code, description, kind: 'percentage', percent: a.coupon.percent! };
  return { id: a.id, code: a.coupon.code, description, kind: 'fixed_amount', amount: a.amountRemaining ?? a.coupon.amount! };
}

/**
 * The coupon after a finalized invoice used it (Lago's `Credits::AppliedCouponService`): a once fixed
 * amount keeps its unused part for the next invoices and ends when used up; a once percentage ends
 * after one invoice; a recurring coupon counts down one invoice (an unused part of its amount is not
 * carried over) and ends at zero; forever never ends.
 */
export function consumeCoupon(a: AppliedCoupon, used: string): Pick<AppliedCoupon, 'status' | 'amountRemaining' | 'periodsRemaining'> {
  const { coupon } = a;
  if (coupon.frequency === 'forever') return { status: a.status, amountRemaining: a.amountRemaining, periodsRemaining: a.periodsRemaining };
  if (coupon.frequency === 'recurring') {
    const left = Math.max(0, (a.periodsRemaining ?? 0) - 1);
    return { status: left === 0 ? 'terminated' : 'active', amountRemaining: null, periodsRemaining: left };
  }
  if (coupon.kind === 'percentage') return { status: 'terminated', amountRemaining: null, periodsRemaining: null };
  const left = Dec.max(new Dec(a.amountRemaining ?? coupon.amount!).minus(used), 0);
  return { status: left.isZero() ? 'terminated' : 'active', amountRemaining: left.toFixed(), periodsRemaining: null };
}
