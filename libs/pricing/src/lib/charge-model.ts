import type Decimal from 'decimal.js';

/** Charge models, named as Lago names them so a Lago plan imports unchanged. */
export const CHARGE_MODELS = ['standard', 'graduated', 'volume', 'package', 'percentage', 'graduated_percentage'] as const;
export type ChargeModelName = (typeof CHARGE_MODELS)[number];

/** What a charge is priced on: the billable quantity and, for percentage models, each event's amount. */
export interface ChargeInput {
  units: Decimal;
  /** Per-event values (transaction amounts); required by `percentage` and `graduated_percentage`. */
  events?: Decimal[];
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
