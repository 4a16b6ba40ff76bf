import type Decimal from 'decimal.js';

/** Charge models, named as Lago names them so a Lago plan imports unchanged. */
export const CHARGE_MODELS = ['standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage', 'dynamic'] as const;
export type ChargeModelName = (typeof CHARGE_MODELS)[number];

/** What a charge is priced on: the billable quantity and, for the models that need them, facts about the events. */
export interface ChargeInput {
  units: Decimal;
  /**
   * Per-event values (transaction amounts), in order; `units` must be their sum. `percentage` needs
   * them when a property works event by event (free_units_per_events, free_units_per_total_aggregation,
   * per-transaction min/max); they also give its event count.
   */
  events?: Decimal[];
  /** How many events the units come from (Lago's aggregation count): `percentage`'s fixed_amount is per event. */
  eventCount?: number;
  /**
   * `dynamic`: the sum of the amounts the period's events carry, in the currency's units (Lago's
   * `precise_total_amount_cents`, summed, divided by the currency's subunit).
   */
  eventAmountTotal?: Decimal;
}

/** One row of a charge's breakdown (a tier, a package count, the percentage part, a fixed fee...). */
export interface ChargeBreakdownLine {
  description: string;
  units: Decimal;
  amount: Decimal;
  fromValue?: Decimal;
  toValue?: Decimal | null;
  perUnitAmount?: Decimal;
  flatAmount?: Decimal;
  rate?: Decimal;
}

/** Unrounded result: rounding happens only when an invoice line is finalized. */
export interface ChargeResult {
  amount: Decimal;
  units: Decimal;
  breakdown: ChargeBreakdownLine[];
}

/** Invalid properties or input: a clear message, never a wrong number. */
export class PricingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PricingError';
  }
}

export type ChargePricer = (model: string, properties: unknown, input: ChargeInput) => ChargeResult;
