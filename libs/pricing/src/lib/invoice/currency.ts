import type Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { Dec, type DecimalInput, toDec } from './money';

/**
 * ISO 4217 minor units that differ from the default of 2. Currencies not listed have two decimals.
 * Source: the ISO 4217 list (SIX), "Minor unit" column.
 */
const MINOR_UNITS: Readonly<Record<string, number>> = {
  // no decimals
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  // three decimals
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  // four decimals (units of account)
  CLF: 4, UYW: 4,
};

const CURRENCY_CODE = /^[A-Z]{3}$/;

/** Throws unless `currency` looks like an ISO 4217 code: three upper-case letters. */
export function assertCurrency(currency: string): void {
  if (typeof currency !== 'string' || !CURRENCY_CODE.test(currency)) {
    throw new PricingError(`currency must be an ISO 4217 code of three upper-case letters, got ${JSON.stringify(currency)}`);
  }
}

/** Decimal places of the currency's minor unit: 2 by default, 0 for JPY, 3 for KWD... */
export function minorUnits(currency: string): number {
  assertCurrency(currency);
  return MINOR_UNITS[currency] ?? 2;
}

/**
 * Rounds an amount to the currency's minor unit, half away from zero ("kaufmännisches Runden",
 * DIN 1333): 0.005 → 0.01, −0.005 → −0.01, 0.0049… → 0.00. Decimal.ROUND_HALF_UP is exactly that rule
 * (decimal.js rounds the half "away from zero", unlike JavaScript's Math.round).
 */
export function roundToMinorUnit(amount: DecimalInput, currency: string): Decimal {
  const places = minorUnits(currency);
  return new Dec(toDec(amount, 'amount').toDecimalPlaces(places, Dec.ROUND_HALF_UP));
}

/** A rounded amount as the invoice shows it: exactly the currency's decimals ("12.50", "1250", "1.250"). */
export function formatMinor(amount: Decimal, currency: string): string {
  return amount.toFixed(minorUnits(currency), Dec.ROUND_HALF_UP);
}
