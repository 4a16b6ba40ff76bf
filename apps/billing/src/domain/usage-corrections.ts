import type { CreditNoteIssued } from '@tally/contracts';
import { Dec, formatMinor, priceLateUsage, roundToMinorUnit, type ChargePricer, type DecimalInput, type InvoiceAdjustmentInput } from '@tally/pricing';

/**
 * Usage that changes after its period's invoice was finalized (aggregation re-bucketed events into or out of
 * the period, late events within the ledger's reach, negative readings of a meter that allows them). The
 * units of a finalized period are corrected, never re-invoiced: up with an adjustment, down with a credit note.
 */
export type CorrectionDirection = 'none' | 'increase' | 'decrease';

/** Which way the period's usage moved since what has been billed for it (invoice + adjustments − credit notes). */
export function correctionDirection(billedUnits: DecimalInput, ledgerUnits: DecimalInput): CorrectionDirection {
  const c = new Dec(ledgerUnits).cmp(billedUnits);
  return c > 0 ? 'increase' : c < 0 ? 'decrease' : 'none';
}

/**
 * Where a correction goes:
 * - `credit_note`: usage went down; a credit note against the finalized invoice, at once;
 * - `next_invoice`: usage went up and a later period of the subscription is still to be finalized (always the
 *   case for a running subscription): billed there as an adjustment line, priced at the tier the late units
 *   fall in;
 * - `adjustment_invoice`: usage went up and nothing of the subscription is left to invoice (canceled, its last
 *   period finalized): an invoice of its own holding the adjustment lines;
 * - `none`.
 */
export type CorrectionRoute = 'none' | 'credit_note' | 'next_invoice' | 'adjustment_invoice';

export function correctionRoute(direction: CorrectionDirection, laterPeriodToInvoice: boolean): CorrectionRoute {
  if (direction === 'decrease') return 'credit_note';
  if (direction === 'increase') return laterPeriodToInvoice ? 'next_invoice' : 'adjustment_invoice';
  return 'none';
}

export interface ChargeTerms {
  model: string;
  properties: unknown;
  includedUnits?: DecimalInput;
}

export interface UsageDecrease {
  meter: string;
  /** The charge's code on the invoice (its code, else the meter). */
  code: string;
  charge: ChargeTerms;
  billedUnits: DecimalInput;
  ledgerUnits: DecimalInput;
}

export interface CreditNoteLine {
  meter: string;
  code: string;
  description: string;
  /** Units removed from the period: negative. */
  units: string;
  /** Exact credit, before rounding (positive). */
  amountUnrounded: string;
  /** Rounded once to the currency's minor unit, half away from zero (positive: money back). */
  amount: string;
}

export interface CreditNoteDocument {
  currency: string;
  lines: CreditNoteLine[];
  subtotal: string;
  tax: string;
  total: string;
}

/** Units the charge prices: a negative quantity as it is (charged 0 by every model), else above the included units. */
function billable(units: DecimalInput, included: DecimalInput | undefined): Dec {
  const u = new Dec(units);
  return u.isNegative() ? u : Dec.max(u.minus(included ?? 0), 0);
}

/**
 * The credit for usage that went down after its invoice was final: per meter, what the charge cost at the
 * billed units minus what it costs at the ledger's units (the same rule as late usage in the other direction:
 * price(billed) − price(now), so tiers, included units and flat amounts are respected; negative totals cost
 * 0). Tax at the invoice's rate on the rounded subtotal. Discounts, commitments and coupons of the original
 * invoice are not recomputed: the credit is the usage charge's difference only.
 */
export function creditNoteFor(decreases: readonly UsageDecrease[], currency: string, taxRatePercent: DecimalInput, priceCharge: ChargePricer, extraLines: readonly CreditNoteLine[] = []): CreditNoteDocument {
  const unitLines = decreases.map((d): CreditNoteLine => {
    const removed = new Dec(d.ledgerUnits).minus(d.billedUnits);
    if (!removed.isNegative()) throw new Error(`meter "${d.meter}": a credit note needs fewer units than billed (${d.ledgerUnits} vs ${d.billedUnits})`);
    const price = (units: DecimalInput) => new Dec(priceCharge(d.charge.model, d.charge.properties, { units: billable(units, d.charge.includedUnits) }).amount);
    const credit = price(d.billedUnits).minus(price(d.ledgerUnits));
    return {
      meter: d.meter,
      code: d.code,
      description: `${d.meter}: ${removed.neg().toFixed()} units fewer than invoiced (${new Dec(d.billedUnits).toFixed()} -> ${new Dec(d.ledgerUnits).toFixed()})`,
      units: removed.toFixed(),
      amountUnrounded: credit.toFixed(),
      amount: formatMinor(roundToMinorUnit(credit, currency), currency),
    };
  });
  // Lines priced elsewhere (a prorated charge's, domain/prorated-usage.ts) are credited with the same tax.
  const lines = [...unitLines, ...extraLines];
  const subtotal = lines.reduce((sum, l) => sum.plus(l.amount), new Dec(0));
  const tax = roundToMinorUnit(subtotal.times(taxRatePercent).div(100), currency);
  return { currency, lines, subtotal: formatMinor(subtotal, currency), tax: formatMinor(tax, currency), total: formatMinor(subtotal.plus(tax), currency) };
}

/**
 * A prorated charge's credit (its price went down after its invoice was final): `credit` positive, the units
 * changed as they did (a late removal: negative; an add/remove pair: 0).
 */
export function proratedCreditNoteLine(c: { meter: string; code: string; description: string; units: string; credit: DecimalInput }, currency: string): CreditNoteLine {
  const credit = new Dec(c.credit);
  return { meter: c.meter, code: c.code, description: c.description, units: c.units, amountUnrounded: credit.toFixed(), amount: formatMinor(roundToMinorUnit(credit, currency), currency) };
}

/** An increase of a period already invoiced, as billed later (`ledgerUnits` > `billedUnits`). */
export interface UsageIncrease {
  meter: string;
  /** The charge's code on the invoice (its code, else the meter). */
  code: string;
  charge: ChargeTerms;
  billedUnits: DecimalInput;
  ledgerUnits: DecimalInput;
  /** The start of the period the units belong to. */
  periodStart: Date;
}

/**
 * The adjustment line that bills an increase — on the subscription's next invoice or on an adjustment invoice
 * of its own, the same line: the late units priced at the tier they fall in (price(all) − price(billed),
 * included units first).
 */
export function lateUsageLine(increase: UsageIncrease, priceCharge: ChargePricer): InvoiceAdjustmentInput {
  const late = new Dec(increase.ledgerUnits).minus(increase.billedUnits).toFixed();
  const { charge } = increase;
  return {
    code: increase.code,
    description: `${increase.meter}: ${late} units reported after the period from ${increase.periodStart.toISOString()} was invoiced`,
    units: late,
    amount: priceLateUsage({ model: charge.model, properties: charge.properties, includedUnits: charge.includedUnits, invoicedUnits: increase.billedUnits, lateUnits: late }, priceCharge).toFixed(),
  };
}

/** A credit note's number: `CN-` and the tenant's credit-note sequence, six digits at least. */
export function creditNoteNumber(sequence: number): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`credit note sequence must be a positive integer, got ${sequence}`);
  return `CN-${String(sequence).padStart(6, '0')}`;
}

export interface ReconciliationRow {
  ledgerUnits: DecimalInput;
  /** The finalized invoice's quantity, plus adjustments, minus credit notes. */
  invoicedUnits: DecimalInput;
  /** An increase waiting for the subscription's next invoice (see correctionRoute). */
  laterPeriodToInvoice: boolean;
}

/**
 * Whether a closed period's meter reconciles: ledger units = invoiced units. A difference is `pending` when
 * billing will settle it by itself (an increase waiting for the next invoice), else `unbilled` or `overbilled`
 * until the correction job has run.
 */
export function reconcile(row: ReconciliationRow): { matches: true } | { matches: false; difference: string; state: 'pending_next_invoice' | 'unbilled' | 'overbilled' } {
  const direction = correctionDirection(row.invoicedUnits, row.ledgerUnits);
  if (direction === 'none') return { matches: true };
  const difference = new Dec(row.ledgerUnits).minus(row.invoicedUnits).toFixed();
  if (direction === 'decrease') return { matches: false, difference, state: 'overbilled' };
  return { matches: false, difference, state: row.laterPeriodToInvoice ? 'pending_next_invoice' : 'unbilled' };
}

/** A credit note as issued: its document and what it credits. */
export interface IssuedCreditNote {
  tenant: string;
  customer: string;
  creditNoteId: string;
  number: string;
  invoiceId: string;
  invoiceNumber: string;
  subscriptionId: string;
  periodStart: Date;
  periodEnd: Date;
  document: CreditNoteDocument;
}

/** `billing.credit-notes.v1` for an issued credit note (reason `usage_decreased`); the caller draws the id and the clock. */
export function creditNoteIssued(note: IssuedCreditNote, stamp: { eventId: string; occurredAt: Date }): CreditNoteIssued {
  const { document } = note;
  return {
    eventId: stamp.eventId,
    occurredAt: stamp.occurredAt.toISOString(),
    tenant: note.tenant,
    customer: note.customer,
    creditNoteId: note.creditNoteId,
    number: note.number,
    invoiceId: note.invoiceId,
    invoiceNumber: note.invoiceNumber,
    subscriptionId: note.subscriptionId,
    periodStart: note.periodStart.toISOString(),
    periodEnd: note.periodEnd.toISOString(),
    reason: 'usage_decreased',
    currency: document.currency,
    lines: document.lines.map((l) => ({ meter: l.meter, code: l.code, description: l.description, units: l.units, amount: l.amount })),
    subtotal: document.subtotal,
    tax: document.tax,
    total: document.total,
  };
}
