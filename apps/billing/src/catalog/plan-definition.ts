import { z } from 'zod';
import { decimalString } from '@tally/contracts';
import { chargeInputNeeds, PricingError, validateChargeProperties } from '@tally/pricing';
import { progressiveBillingIssues } from '../domain/progressive-billing';
import { chargeAlertsSchema, thresholdPercentsSchema } from './charge-alerts';
import { dynamicChargeIssues } from './dynamic-charge';
import { proratedChargeIssues } from './prorated-charge';
import { chargeValueIssues, decimalValueIssue, PLAN_LIMITS } from './plan-limits';

const boundedDecimal = (bound: 'amount' | 'quantity') =>
  decimalString.superRefine((v, ctx) => {
    if (v.startsWith('-')) {
      ctx.addIssue({ code: 'custom', message: 'must not be negative' });
      return;
    }
    const issue = decimalValueIssue(v, bound);
    if (issue) ctx.addIssue({ code: 'custom', message: issue });
  });
const money = boundedDecimal('amount');

/**
 * A plan as users write it. Charge `model` and `properties` are Lago's (`standard`, `graduated` with
 * `graduated_ranges`, ...), so a Lago plan's charges import unchanged. Every value is bounded
 * (see PLAN_LIMITS) so a plan cannot overflow anything downstream.
 */
export const chargeDefinitionSchema = z.object({
  code: z.string().min(1).max(200).optional(),
  meter: z.string().min(1).max(200),
  model: z.string().min(1).max(100),
  properties: z.record(z.unknown()),
  /** Units free each period before the model prices any (hybrid plans); also the entitlement. */
  includedUnits: boundedDecimal('quantity').optional(),
  /** Alert percentages of the included units, exact decimals (33.3, "0.4"); 50, 75, 90 and 100 when absent. */
  thresholds: thresholdPercentsSchema.optional(),
  /** Deny use at 100 % of the included units. */
  hardLimit: z.boolean().optional(),
  /** Usage, spend and step alerts (threshold-alerting prices spend with this charge). */
  alerts: chargeAlertsSchema.optional(),
  /**
   * Lago's `prorated`: each unit of a recurring SUM meter (seats) is billed for the part of the period it is
   * held, in the customer's days (catalog/prorated-charge.ts); standard and volume only.
   */
  prorated: z.boolean().optional(),
});

export const planDefinitionSchema = z
  .object({
    code: z.string().max(100).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    name: z.string().min(1).max(200),
    interval: z.enum(['monthly', 'yearly']),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like "EUR"'),
    baseFee: money.default('0'),
    charges: z.array(chargeDefinitionSchema).max(PLAN_LIMITS.maxCharges).default([]),
    /** The period's fees are trued up to at least this. */
    minimumCommitment: money.optional(),
    /** Percent off usage fees, granted for the commitment. */
    committedUseDiscountPercent: decimalString.refine((v) => Number(v) >= 0 && Number(v) <= 100, 'must be between 0 and 100').optional(),
    /** Usage fees up to this amount per period are waived. */
    freeTier: money.optional(),
    /** Mid-period invoices when the period's usage fees reach these amounts (domain/progressive-billing.ts). */
    progressiveBilling: z.object({ thresholds: z.array(decimalString).optional(), recurring: decimalString.optional() }).strict().optional(),
  })
  .superRefine((plan, ctx) => {
    if (plan.progressiveBilling && /^[A-Z]{3}$/.test(plan.currency)) {
      for (const issue of progressiveBillingIssues(plan.progressiveBilling, plan.currency)) ctx.addIssue({ code: 'custom', path: ['progressiveBilling', ...issue.path], message: issue.message });
    }
    const meters = new Set<string>();
    plan.charges.forEach((charge, i) => {
      if (meters.has(charge.meter)) ctx.addIssue({ code: 'custom', path: ['charges', i, 'meter'], message: `meter "${charge.meter}" is charged twice` });
      meters.add(charge.meter);
      // Percentages of nothing would fire on the first unit: they need the included units they are a share of.
      if (charge.includedUnits === undefined) {
        if (charge.thresholds?.length) ctx.addIssue({ code: 'custom', path: ['charges', i, 'thresholds'], message: 'are percentages of includedUnits, which the charge does not set' });
        if (charge.hardLimit) ctx.addIssue({ code: 'custom', path: ['charges', i, 'hardLimit'], message: 'applies at 100 % of includedUnits, which the charge does not set' });
      }
      try {
        const parsed = validateChargeProperties(charge.model, charge.properties);
        for (const issue of chargeValueIssues(parsed)) ctx.addIssue({ code: 'custom', path: ['charges', i, ...issue.path], message: issue.message });
        // usage.aggregates.v1 carries period totals only: refuse a charge that needs per-event facts (percentage with
        // per-event properties or a fixed amount) instead of failing when its invoice is composed. A dynamic charge's
        // amount total is its amount meter's period usage (dynamic-charge.ts, checked below).
        for (const need of chargeInputNeeds(parsed)) {
          if (need.input === 'eventAmountTotal') continue;
          ctx.addIssue({ code: 'custom', path: ['charges', i, 'properties'], message: `${need.reason}, which period usage does not carry` });
        }
      } catch (e) {
        if (!(e instanceof PricingError)) throw e;
        ctx.addIssue({ code: 'custom', path: ['charges', i, e.message.startsWith('unknown charge model') ? 'model' : 'properties'], message: e.message });
      }
    });
    for (const issue of dynamicChargeIssues(plan.charges)) ctx.addIssue({ code: 'custom', path: ['charges', issue.charge, ...issue.path], message: issue.message });
    plan.charges.forEach((charge, i) => {
      for (const issue of proratedChargeIssues(charge)) ctx.addIssue({ code: 'custom', path: ['charges', i, ...issue.path], message: issue.message });
    });
  });

export type PlanDefinition = z.infer<typeof planDefinitionSchema>;
export type ChargeDefinition = z.infer<typeof chargeDefinitionSchema>;
