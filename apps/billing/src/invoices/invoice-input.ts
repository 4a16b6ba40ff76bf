import type { EntityManager } from 'typeorm';
import { Dec, priceCharge, priceLateUsage, prorationDays, type InvoiceAdjustmentInput, type InvoiceInput } from '@tally/pricing';
import { schemaOf } from '@tally/postgres';
import type { Customer, PlanVersion } from '../catalog/catalog.repository';
import type { PlanDefinition } from '../catalog/plan-definition';
import { nominalPeriodContaining } from '../domain/billing-periods';
import { couponInput, couponsForInvoice, type AppliedCoupon } from '../domain/coupons';
import { progressiveCreditLine } from '../domain/progressive-billing';
import { periodRuleOf, type SubscriptionRow } from '../subscriptions/subscription.service';

const DAY_MS = 86_400_000;

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
  creditBalance: string;
  lateUsage: Array<LateUsage & { invoicedUnits: string; charge: PlanDefinition['charges'][number] }>;
  /** The customer's applied coupons (locked with the wallet); the invoice uses those that apply to it. */
  coupons?: AppliedCoupon[];
  /** The period's progressive invoices (not void) and what they billed before tax: the period's invoice is net of it. */
  progressive: { invoices: number; billed: string };
}

/**
 * The period's progressive invoices: how many (not void), how many threshold levels were invoiced (void ones
 * too: a level is never invoiced again) and their taxable amounts (not void). $1 tenant, $2 subscription, $3 period start.
 */
export const progressiveBilledSql = (s: string) => `
  SELECT (count(*) FILTER (WHERE status <> 'void'))::int AS invoices, COALESCE(max(threshold_level), 0)::int AS levels,
    COALESCE(sum((document->>'taxableAmount')::numeric) FILTER (WHERE status <> 'void'), 0)::text AS billed
  FROM ${s}.invoices WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND kind = 'progressive'`;

/** Reads what one period's invoice is made of, from billing's own tables only. */
export async function loadInvoiceSources(
  m: EntityManager,
  period: BillingPeriodRow,
  loadPlan: (code: string, version: number) => Promise<PlanVersion | null>,
  customer: Customer,
  subscription: SubscriptionRow,
): Promise<InvoiceSources> {
  const s = schemaOf(m.connection);
  const plan = await loadPlan(period.plan_code, period.plan_version);
  if (!plan) throw new Error(`plan "${period.plan_code}" version ${period.plan_version} of the period is missing`);
  const previousPlan = period.plan_change ? await loadPlan(period.plan_change.previousPlan, period.plan_change.previousVersion) : null;
  if (period.plan_change && !previousPlan) throw new Error(`plan "${period.plan_change.previousPlan}" version ${period.plan_change.previousVersion} (before the plan change) is missing`);
  const usageRows: Array<{ meter: string; value: string }> = await m.query(
    `SELECT meter, value::text FROM ${s}.period_usage WHERE tenant = $1 AND customer = $2 AND period_start = $3`,
    [period.tenant, period.customer, period.period_start],
  );
  // Locked: two of the customer's invoices finalized at once must not both spend the same credits.
  const [wallet] = await m.query(
    `SELECT balance::text FROM ${s}.credit_wallets WHERE tenant = $1 AND customer = $2 AND currency = $3 FOR UPDATE`,
    [period.tenant, period.customer, subscription.currency],
  );
  // Usage that grew after its period was invoiced: the difference is billed on this invoice.
  const late: Array<{ period_start: Date; meter: string; invoiced: string; value: string; plan_code: string; plan_version: number }> = await m.query(
    `SELECT iu.period_start, iu.meter, iu.units::text AS invoiced, pu.value::text AS value, bp.plan_code, bp.plan_version
     FROM ${s}.invoiced_usage iu
     JOIN ${s}.billing_periods bp ON bp.tenant = iu.tenant AND bp.subscription_id = iu.subscription_id AND bp.period_start = iu.period_start
     JOIN ${s}.period_usage pu ON pu.tenant = iu.tenant AND pu.customer = bp.customer AND pu.meter = iu.meter AND pu.period_start = iu.period_start
     WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start < $3 AND pu.value > iu.units
     ORDER BY iu.period_start, iu.meter`,
    [period.tenant, period.subscription_id, period.period_start],
  );
  const [progressive]: Array<{ invoices: number; billed: string }> = await m.query(progressiveBilledSql(s), [period.tenant, period.subscription_id, period.period_start]);
  const lateUsage: InvoiceSources['lateUsage'] = [];
  for (const l of late) {
    const charge = (await loadPlan(l.plan_code, l.plan_version))?.plan.charges.find((c) => c.meter === l.meter);
    if (charge) lateUsage.push({ periodStart: l.period_start, meter: l.meter, units: l.value, invoicedUnits: l.invoiced, charge });
  }
  return {
    customer,
    plan,
    previousPlan,
    subscription,
    usage: new Map(usageRows.map((r) => [r.meter, r.value])),
    creditBalance: wallet?.balance ?? '0',
    lateUsage,
    progressive: { invoices: progressive.invoices, billed: progressive.billed },
  };
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
  const pausedMs = Number(period.paused_ms) + (period.paused_at ? Math.max(0, Math.min(now.getTime(), period.period_end.getTime()) - period.paused_at.getTime()) : 0);
  const pausedDays = Math.floor(pausedMs / DAY_MS);
  if (pausedDays > 0 && new Dec(plan.plan.baseFee).gt(0)) {
    const { periodDays } = prorationDays({ periodStart: nominal.start, periodEnd: nominal.end, from: nominal.start, to: nominal.end, timeZone });
    adjustments.push({
      code: 'pause_credit',
      description: `Paused ${pausedDays} of ${periodDays} days: base fee credited`,
      units: String(pausedDays),
      amount: new Dec(plan.plan.baseFee).times(pausedDays).div(periodDays).neg().toFixed(),
    });
  }
  for (const late of src.lateUsage) {
    const lateUnits = new Dec(late.units).minus(late.invoicedUnits);
    adjustments.push({
      code: late.charge.code ?? late.meter,
      description: `${late.meter}: ${lateUnits.toFixed()} units reported after the period from ${late.periodStart.toISOString()} was invoiced`,
      units: lateUnits.toFixed(),
      amount: priceLateUsage(
        { model: late.charge.model, properties: late.charge.properties, includedUnits: late.charge.includedUnits, invoicedUnits: late.invoicedUnits, lateUnits: lateUnits.toFixed() },
        priceCharge,
      ).toFixed(),
    });
  }

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
    charges: [...plan.plan.charges, ...(src.previousPlan?.plan.charges ?? []).filter((old) => !plan.plan.charges.some((c) => c.meter === old.meter))].map((c) => ({
      code: c.code ?? c.meter,
      meter: c.meter,
      model: c.model,
      properties: c.properties,
      ...(c.includedUnits !== undefined ? { includedUnits: c.includedUnits } : {}),
      usage: { units: src.usage.get(c.meter) ?? '0' },
    })),
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
