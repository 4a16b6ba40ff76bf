import type { DecimalInput, Instant } from './money';

/** A usage-based charge of the plan, with the period's usage of its meter. */
export interface InvoiceChargeInput {
  /** The charge's code, shown on its line (Lago's charge code / billable metric code). */
  code: string;
  meter: string;
  /** A Lago charge model: 'standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage', 'dynamic'. */
  model: string;
  /** Lago-style properties of that model, e.g. { amount: '0.01' } for 'standard'. */
  properties: unknown;
  /** Shown on the line; "<code> (<meter>)" when absent. */
  description?: string;
  /**
   * Units free before overage (hybrid plans, free tiers per meter): the model prices only the units
   * above them, its tiers counting from the first overage unit. Not combinable with `usage.events`.
   */
  includedUnits?: DecimalInput;
  usage: {
    units: DecimalInput;
    /** Per-event values, for `percentage` with per-event properties (see `chargeInputNeeds`). */
    events?: DecimalInput[];
    /** Number of events the units come from: `percentage`'s fixed_amount is charged per event. */
    eventCount?: number;
    /** `dynamic`: the sum of the amounts the period's events carry, in the currency's units. */
    eventAmountTotal?: DecimalInput;
    /**
     * A prorated charge (Lago's `prorated: true`): the period's changes of units held, in event-time order,
     * each with its prorated units (see `prorateHolding`); priced by `priceProratedCharge`. `units` is then
     * only shown on the line (the units held at period end). Not combinable with `includedUnits` or `events`.
     */
    prorated?: Array<{ units: DecimalInput; proratedUnits: DecimalInput }>;
  };
}

export interface InvoiceBaseFeeInput {
  code?: string;
  description?: string;
  /** The fee for a whole period. */
  amount: DecimalInput;
  /** Paid at the start of the period (true) or at its end (false, the default). Decides what a plan change credits. */
  payInAdvance?: boolean;
  /**
   * The part of the period the plan was active, when only part of it was (a start or an end in the
   * middle of the period). Prorates the fee and the minimum commitment by calendar day.
   */
  proration?: { from: Instant; to: Instant };
}

/** The plan was changed to this one during the period. */
export interface InvoicePlanChangeInput {
  /** The new plan's first day is the local day of this instant; its base fee is prorated from there. */
  changeAt: Instant;
  /** The old plan's base fee: credited for the new plan's days if it was paid in advance, charged for its own days if in arrears. */
  previousBaseFee: { code?: string; description?: string; amount: DecimalInput; payInAdvance?: boolean };
}

/** Usage that arrived after its period was invoiced, billed on this invoice at the amount it adds. */
export interface InvoiceAdjustmentInput {
  code?: string;
  description: string;
  units: DecimalInput;
  /** What the late units add to the charge of their period (see `priceLateUsage`), unrounded. */
  amount: DecimalInput;
}

/** A coupon as this invoice may use it (what is left of it is the caller's to track: see `Invoice.couponsApplied`). */
export interface InvoiceCouponInput {
  /** The caller's id of the applied coupon, echoed in `couponsApplied`. */
  id: string;
  code: string;
  description?: string;
  /**
   * 'fixed_amount': at most `amount` off (a once coupon's remaining amount, or a recurring coupon's amount per
   * period); 'percentage': `percent` % of what is left before tax.
   */
  kind: 'fixed_amount' | 'percentage';
  amount?: DecimalInput;
  percent?: DecimalInput;
}

export interface InvoiceInput {
  /** ISO 4217 code; amounts are in this currency. */
  currency: string;
  /** The billing period, half-open [start, end), and the customer's time zone its days are counted in (UTC by default). */
  period: { start: Instant; end: Instant; timeZone?: string };
  baseFee?: InvoiceBaseFeeInput;
  planChange?: InvoicePlanChangeInput;
  charges?: InvoiceChargeInput[];
  /** A money allowance: usage fees up to this amount per period are waived (a discount line). */
  freeTier?: { amount: DecimalInput; description?: string };
  /** The minimum the period's fees (base fee + usage) add up to; a shortfall is billed as a true-up. */
  minimumCommitment?: {
    amount: DecimalInput;
    description?: string;
    /**
     * 'current_plan' (default, Lago's per-plan rule): prorated like the current plan's base fee and
     * compared with its fees only; the old plan of a plan change is settled on its own. 'period': the
     * whole period's commitment, prorated by `activeWindow` (when the subscription ran for part of the
     * period) and compared with every base fee line and usage of the period — for billing systems that
     * invoice a plan change with the period instead of settling the old plan at the change.
     */
    scope?: 'current_plan' | 'period';
    activeWindow?: { from: Instant; to: Instant };
  };
  /** A percentage off, in exchange for a commitment: on usage fees (default) or on base fee and usage fees. */
  committedUseDiscount?: { percent: DecimalInput; appliesTo?: 'usage' | 'fees'; description?: string };
  /**
   * Coupons applied to this invoice, in the order they are deducted (Lago: coupons limited to plans first,
   * then the others, each by the date it was applied). After the plan's discounts, before tax; each takes at
   * most what is left of the amount before tax, so the invoice never goes negative.
   */
  coupons?: InvoiceCouponInput[];
  /** The customer's prepaid credit balance (a wallet), in the invoice's currency; applied after tax. */
  prepaidCredits?: { balance: DecimalInput };
  adjustments?: InvoiceAdjustmentInput[];
  /** e.g. '19' for 19 %. No tax line when absent. */
  taxRatePercent?: DecimalInput;
  /** What the previous invoice billed that this one needs to know. */
  previousPeriod?: {
    /** The minimum-commitment true-up already billed for the period the adjustments belong to. */
    commitmentTrueUp?: DecimalInput;
  };
}

export type InvoiceLineKind = 'base_fee' | 'usage' | 'commitment_true_up' | 'discount' | 'adjustment' | 'tax' | 'credit';

/** One row of a line's breakdown: a tier, the included units, the days of a proration... Decimal strings. */
export interface InvoiceLineBreakdown {
  description: string;
  /** First unit of a tier (inclusive). */
  from?: string;
  /** Last unit of a tier (inclusive); null for the open-ended last tier. */
  to?: string | null;
  units: string;
  /** Unrounded. */
  amount: string;
  unitAmount?: string;
  flatAmount?: string;
  /** A percentage, for the percentage models. */
  rate?: string;
}

export interface InvoiceLine {
  kind: InvoiceLineKind;
  code: string;
  description: string;
  /** The quantity billed (usage units, late units, 1 for a base fee); null for money-only lines (tax, discount, credit, true-up). */
  units: string | null;
  /** Price per unit when there is a single one (a 'standard' charge, a base fee's full-period amount). */
  unitAmount?: string;
  /** Exact, before rounding. */
  amountUnrounded: string;
  /** Rounded once to the currency's minor unit, half away from zero. Negative for discounts and credits. */
  amount: string;
  breakdown: InvoiceLineBreakdown[];
}

/** All amounts are decimal strings in the currency's minor unit. */
export interface Invoice {
  currency: string;
  period: { start: string; end: string; timeZone: string };
  lines: InvoiceLine[];
  /** Fees before discounts: base fee, usage, true-up and adjustment lines. */
  subtotal: string;
  /** What each coupon took off (rounded, positive), in the order applied; 0 when nothing was left to discount. */
  couponsApplied?: Array<{ id: string; code: string; amount: string }>;
  /** Discounts as a positive amount (the discount lines are negative). */
  discountTotal: string;
  /** subtotal − discountTotal: what the tax is computed on. */
  taxableAmount: string;
  tax: string;
  /** taxableAmount + tax, before prepaid credits. */
  total: string;
  /** Prepaid credits used, as a positive amount. */
  creditsApplied: string;
  /** total − creditsApplied, never negative. */
  amountDue: string;
  /** The prepaid balance afterwards; a negative total (e.g. after a downgrade) is added to it. */
  creditBalanceAfter: string;
}

export interface UpcomingInvoice {
  asOf: string;
  /** Share of the period elapsed at `asOf`, by elapsed time (0 < f ≤ 1). */
  elapsedFraction: string;
  /** The usage so far, invoiced as if the period ended now, without the minimum-commitment true-up. */
  invoiceSoFar: Invoice;
  /** The same plan with every charge's usage projected to period end, true-up included. */
  projectedInvoice: Invoice;
  projectedTotal: string;
  projectedAmountDue: string;
}
