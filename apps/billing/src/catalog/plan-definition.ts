import { z } from 'zod';
import { decimalString } from '@tally/contracts';
import { PricingError, validateChargeProperties } from '@tally/pricing';

const money = decimalString.refine((v) => !v.startsWith('-'), 'must not be negative');

/**
 * A plan as users write it. Charge `model` and `properties` are Lago's (`standard`, `graduated` with
 * `graduated_ranges`, ...), so a Lago plan's charges import unchanged.
 */
export const chargeDefinitionSchema = z.object({
  code: z.string().min(1).optional(),
  meter: z.string().min(1),
  model: z.string().min(1),
  properties: z.record(z.unknown()),
  /** Units free each period before the model prices any (hybrid plans); also the entitlement. */
  includedUnits: money.optional(),
  /** Soft-alert percentages of the included units. */
  thresholds: z.array(z.number().positive()).optional(),
  /** Deny use at 100 % of the included units. */
  hardLimit: z.boolean().optional(),
});

export const planDefinitionSchema = z
  .object({
    code: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    name: z.string().min(1),
    interval: z.enum(['monthly', 'yearly']),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like "EUR"'),
    baseFee: money.default('0'),
    charges: z.array(chargeDefinitionSchema).default([]),
    /** The period's fees are trued up to at least this. */
    minimumCommitment: money.optional(),
    /** Percent off usage fees, granted for the commitment. */
    committedUseDiscountPercent: decimalString.refine((v) => Number(v) >= 0 && Number(v) <= 100, 'must be between 0 and 100').optional(),
    /** Usage fees up to this amount per period are waived. */
    freeTier: money.optional(),
  })
  .superRefine((plan, ctx) => {
    const meters = new Set<string>();
    plan.charges.forEach((charge, i) => {
      if (meters.has(charge.meter)) ctx.addIssue({ code: 'custom', path: ['charges', i, 'meter'], message: `meter "${charge.meter}" is charged twice` });
      meters.add(charge.meter);
      if (charge.model === 'percentage') {
        // It prices each transaction, and usage.aggregates.v1 carries period totals only.
        ctx.addIssue({ code: 'custom', path: ['charges', i, 'model'], message: 'percentage charges need per-transaction amounts, which period usage does not carry; price them with the simulator, or use graduated_percentage on the total' });
        return;
      }
      try {
        validateChargeProperties(charge.model, charge.properties);
      } catch (e) {
        if (!(e instanceof PricingError)) throw e;
        ctx.addIssue({ code: 'custom', path: ['charges', i, e.message.startsWith('unknown charge model') ? 'model' : 'properties'], message: e.message });
      }
    });
  });

export type PlanDefinition = z.infer<typeof planDefinitionSchema>;
export type ChargeDefinition = z.infer<typeof chargeDefinitionSchema>;
