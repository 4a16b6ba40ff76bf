import { Dec, priceCharge, type InvoiceAdjustmentInput, type InvoiceInput } from '@tally/pricing';
import type { Customer, PlanVersion } from '../catalog/catalog.repository';
import { amountMeterOf } from '../catalog/dynamic-charge';
import type { PlanDefinition } from '../catalog/plan-definition';
import { nominalPeriodContaining } from '../domain/billing-periods';
import { couponInput, couponsForInvoice, type AppliedCoupon } from '../domain/coupons';
import { pauseCreditLine, pausedMsSoFar } from '../domain/invoice-lifecycle';
import { progressiveCreditLine } from '../domain/progressive-billing';
import type { DynamicCorrection } from '../domain/dynamic-usage';
import { proratedUsage, type ProratedCorrection } from '../domain/prorated-usage';
import { lateUsageLine } from '../domain/usage-corrections';
import { isProrated } from '../catalog/prorated-charge';
import { periodRuleOf, type SubscriptionRow } from '../subscriptions/subscription.service';

export interface BillingPeriodRow {
  tenant: string;
  subscription_id: string;
  period_start: Date;
  period_end: Date;
  customer: string;
  plan_code: string;
  plan_version: number;
  active_from: Date;
  active_to: Date | null;
  plan_change: { changeAt: string; previousPlan: string; previousVersion: number } | null;
  paused_ms: string;
  paused_at: Date | null;
  invoice_id: string | null;
}

/** Late units found for earlier, already invoiced periods: billed now, recorded as invoiced at finalization. */
export interface LateUsage {
  periodStart: Date;
  meter: string;
  units: string;
}

export interface InvoiceSources {
  customer: Customer;
  plan: PlanVersion;
  previousPlan: PlanVersion | null;
  subscription: SubscriptionRow;
  usage: Map<string, string>;
  /** Per meter, the period's held unit-days (usage.aggregates.v1 heldUnitDays), null where none came. */
  heldUnitDays?: Map<string, string | null>;
  /** Per prorated meter, the units held when the period opened (the subscription's earlier periods' usage). */
  openingUnits?: Map<string, string>;
  creditBalance: string;
  lateUsage: Array<LateUsage & { invoicedUnits: string; charge: PlanDefinition['charges'][number] }>;
  /** Prorated charges of earlier, finalized periods that cost more now (domain/prorated-usage.ts proratedCorrection). */
  lateProrated?: Array<ProratedCorrection & { periodStart: Date; code: string }>;
  /** Dynamic charges of earlier, finalized periods that cost more now, or the same (domain/dynamic-usage.ts dynamicCorrection). */
  lateDynamic?: Array<DynamicCorrection & { periodStart: Date; code: string }>;
  /** The customer's applied coupons (locked with the wallet); the invoice uses those that apply to it. */
  coupons?: AppliedCoupon[];
  /** The period's progressive invoices (not void) and what they billed before coupons and tax: the period's invoice is net of it. */
  progressive: { invoices: number; billed: string };
}

/**
 * The pricing engine's input for one period. The base fee is prorated against the whole (nominal)
 * period when the subscription was active for only part of it; whole days paused are credited.
 */
export function invoiceInputFor(period: BillingPeriodRow, src: InvoiceSources, now: Date): InvoiceInput {
  const { plan, customer } = src;
  const timeZone = customer.timezone;
  const nominal = nominalPeriodContaining(periodRuleOf(src.subscription), period.period_start);
  const activeTo = period.active_to ?? period.period_end;
  const changeAt = period.plan_change ? new Date(period.plan_change.changeAt) : null;
  const partial = period.active_from > nominal.start || activeTo < nominal.end;
  const proration = changeAt ? { from: changeAt, to: activeTo } : partial ? { from: period.active_from, to: activeTo } : undefined;

  const adjustments: InvoiceAdjustmentInput[] = [];
  const pauseCredit = pauseCreditLine(pausedMsSoFar({ pausedMs: period.paused_ms, pausedAt: period.paused_at, periodEnd: period.period_end }, now), plan.plan.baseFee, nominal, timeZone);
  if (pauseCredit) adjustments.push(pauseCredit);
  for (const late of src.lateUsage) {
    adjustments.push(lateUsageLine({ meter: late.meter, code: late.charge.code ?? late.meter, charge: late.charge, billedUnits: late.invoicedUnits, ledgerUnits: late.units, periodStart: late.periodStart }, priceCharge));
  }

  for (const late of src.lateProrated ?? []) adjustments.push({ code: late.code, description: late.description, units: late.units, amount: late.amount.toFixed() });
  for (const late of src.lateDynamic ?? []) adjustments.push({ code: late.code, description: late.description, units: late.units, amount: late.amount.toFixed() });

  // Net of the period's progressive invoices: before discounts, coupons and tax, not counting towards the commitment.
  const progressive = progressiveCreditLine(src.progressive.invoices, src.progressive.billed, plan.plan.currency);
  if (progressive) adjustments.push(progressive);

  const coupons = couponsForInvoice(src.coupons ?? [], { subscriptionId: period.subscription_id, planCode: plan.plan.code, currency: plan.plan.currency }).map(couponInput);
  return {
    currency: plan.plan.currency,
    period: { start: nominal.start, end: nominal.end, timeZone },
    baseFee: new Dec(plan.plan.baseFee).gt(0) || src.previousPlan ? { code: plan.plan.code, description: `${plan.plan.name} base fee`, amount: plan.plan.baseFee, ...(proration ? { proration } : {}) } : undefined,
    ...(changeAt && src.previousPlan
      ? { planChange: { changeAt, previousBaseFee: { code: src.previousPlan.plan.code, description: `${src.previousPlan.plan.name} base fee`, amount: src.previousPlan.plan.baseFee } } }
      : {}),
    // A meter the old plan charged and the new one does not is still billed for this period, on the old price.
    charges: [...plan.plan.charges, ...(src.previousPlan?.plan.charges ?? []).filter((old) => !plan.plan.charges.some((c) => c.meter === old.meter))].map((c) => {
      // A dynamic charge bills what its amount meter summed over the period (catalog/dynamic-charge.ts).
      const amountMeter = amountMeterOf(c);
      // A prorated charge bills the units held by the days they were held (catalog/prorated-charge.ts).
      if (isProrated(c)) {
        const usage = proratedUsage({
          meter: c.meter,
          openingUnits: src.openingUnits?.get(c.meter) ?? '0',
          periodUnits: src.usage.get(c.meter) ?? '0',
          heldUnitDays: src.heldUnitDays?.get(c.meter) ?? null,
          nominal,
          active: { start: period.period_start, end: period.period_end },
          timeZone,
        });
        return { code: c.code ?? c.meter, meter: c.meter, model: c.model, properties: c.properties, usage };
      }
      return {
        code: c.code ?? c.meter,
        meter: c.meter,
        model: c.model,
        properties: c.properties,
        ...(c.includedUnits !== undefined ? { includedUnits: c.includedUnits } : {}),
        usage: { units: src.usage.get(c.meter) ?? '0', ...(amountMeter !== undefined ? { eventAmountTotal: src.usage.get(amountMeter) ?? '0' } : {}) },
      };
    }),
    ...(plan.plan.freeTier ? { freeTier: { amount: plan.plan.freeTier } } : {}),
    // The period's commitment against all its fees (a plan change is billed with the period, not settled at the change),
    // prorated by the days the subscription ran in it.
    ...(plan.plan.minimumCommitment
      ? { minimumCommitment: { amount: plan.plan.minimumCommitment, scope: 'period' as const, ...(partial ? { activeWindow: { from: period.active_from, to: activeTo } } : {}) } }
      : {}),
    ...(plan.plan.committedUseDiscountPercent ? { committedUseDiscount: { percent: plan.plan.committedUseDiscountPercent } } : {}),
    ...(coupons.length > 0 ? { coupons } : {}),
    prepaidCredits: { balance: src.creditBalance },
    adjustments,
    taxRatePercent: customer.taxRate,
  };
}
