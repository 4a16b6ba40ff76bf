import type Decimal from 'decimal.js';
import { type ChargeBreakdownLine, type ChargePricer, PricingError } from '../charge-model';
import { assertCurrency, formatMinor, minorUnits, roundToMinorUnit } from './currency';
import type {
  Invoice,
  InvoiceChargeInput,
  InvoiceInput,
  InvoiceLine,
  InvoiceLineBreakdown,
  InvoiceLineKind,
  InvoicePlanChangeInput,
} from './invoice-types';
import { HUNDRED, maxDecimal, minDecimal, ZERO } from '../charges/pricing-decimal';
import { priceProratedCharge } from '../charges/prorated-charge';
import { Dec, plain, sum, toDec, toInstant, toNonNegativeDec } from './money';
import { localDate, prorationDays, proratePlanChange } from './proration';

/*
 * How an invoice is composed, in this order:
 *  1. Base fee: the plan's fee, prorated by calendar day when the plan was active for part of the
 *     period; on a plan change, the old fee's unused days credited (paid in advance) or used days
 *     charged (paid in arrears).
 *  2. Usage: one line per charge, priced by its model on the units above its included units.
 *  3. Minimum commitment true-up (Lago): when the period's fees — the current plan's base fee and
 *     usage lines — are below the minimum (prorated like the base fee), a line for the difference.
 *     Discounts, credits and late adjustments do not count towards it.
 *  4. Adjustments: late usage of an already invoiced period. When that period was topped up by a
 *     true-up, the late fees are first set against it (the customer already paid that much).
 *  5. Discounts (negative): the free-tier allowance on usage fees, then the committed-use percentage
 *     on what remains (of usage, or of base fee + usage). Then coupons, in the order given, each on
 *     what is left before tax (never below zero): Lago's order fees → true-up → coupons → tax → wallet.
 *  6. Tax on subtotal − discounts.
 *  7. Prepaid credits (Lago's wallets): after tax, up to the total.
 *
 * Rounding: every line is rounded exactly once, to the currency's minor unit, half away from zero
 * (DIN 1333), and keeps its unrounded amount. Every total is the sum of rounded lines, and amounts
 * derived from totals (discount %, tax) are computed from those rounded sums and then rounded once:
 * tax = round(taxable subtotal × rate). So the invoice always adds up to the cent as printed.
 */

interface Line {
  kind: InvoiceLineKind;
  code: string;
  description: string;
  units: Decimal | null;
  unitAmount?: Decimal;
  unrounded: Decimal;
  rounded: Decimal;
  breakdown: InvoiceLineBreakdown[];
  /** Counts towards the minimum commitment. */
  committable?: boolean;
}

function breakdownRow(row: ChargeBreakdownLine): InvoiceLineBreakdown {
  const out: InvoiceLineBreakdown = { description: row.description, units: plain(row.units), amount: plain(row.amount) };
  if (row.fromValue !== undefined) out.from = plain(row.fromValue);
  if (row.toValue !== undefined) out.to = row.toValue === null ? null : plain(row.toValue);
  if (row.perUnitAmount !== undefined) out.unitAmount = plain(row.perUnitAmount);
  if (row.flatAmount !== undefined) out.flatAmount = plain(row.flatAmount);
  if (row.rate !== undefined) out.rate = plain(row.rate);
  return out;
}

/** A prorated charge's line: the model prices the prorated units (Lago's rule, no included units). */
function proratedUsageLine(charge: InvoiceChargeInput, path: string, currency: string): Line {
  const units = toDec(charge.usage.units, `${path}.usage.units`);
  if (charge.includedUnits !== undefined && toNonNegativeDec(charge.includedUnits, `${path}.includedUnits`).gt(0)) {
    throw new PricingError(`${path}.includedUnits cannot be combined with usage.prorated (Lago's prorated charges have none)`);
  }
  if (charge.usage.events) throw new PricingError(`${path}.usage.events cannot be combined with usage.prorated`);
  const events = (charge.usage.prorated ?? []).map((e, i) => ({ units: toDec(e?.units, `${path}.usage.prorated[${i}].units`), proratedUnits: toDec(e?.proratedUnits, `${path}.usage.prorated[${i}].proratedUnits`) }));
  const result = priceProratedCharge(charge.model, charge.properties, events);
  const unrounded = new Dec(result.amount);
  const name = charge.description ?? `${charge.code} (${charge.meter})`;
  return {
    kind: 'usage',
    code: charge.code,
    description: `${name}: ${plain(units)} units, prorated by days held`,
    units,
    unrounded,
    rounded: roundToMinorUnit(unrounded, currency),
    breakdown: result.breakdown.map(breakdownRow),
    committable: true,
  };
}

function usageLine(charge: InvoiceChargeInput, index: number, currency: string, priceCharge: ChargePricer): Line {
  const path = `charges[${index}]`;
  if (typeof charge.code !== 'string' || charge.code === '') throw new PricingError(`${path}.code is required`);
  if (charge.usage?.prorated !== undefined) return proratedUsageLine(charge, path, currency);
  // Any finite quantity a meter can produce is priced; a negative one is charged 0 (see priceCharge), shown as it is.
  const units = toDec(charge.usage?.units, `${path}.usage.units`);
  const included = charge.includedUnits === undefined ? ZERO : toNonNegativeDec(charge.includedUnits, `${path}.includedUnits`);
  const events = charge.usage.events?.map((e, i) => toDec(e, `${path}.usage.events[${i}]`));
  if (events && included.gt(0)) {
    throw new PricingError(`${path}.includedUnits cannot be combined with usage.events: use the model's free units (free_units_per_events, free_units_per_total_aggregation)`);
  }
  // A negative quantity goes to the model as it is, which charges it as 0 (Lago's rule); zero billable
  // units (all included) are priced by the model, which may charge a first range's flat amount.
  const billable = units.isNegative() ? units : maxDecimal(units.minus(included), ZERO);
  const { eventCount } = charge.usage;
  const eventAmountTotal = charge.usage.eventAmountTotal === undefined ? undefined : toDec(charge.usage.eventAmountTotal, `${path}.usage.eventAmountTotal`);
  const result = priceCharge(charge.model, charge.properties, {
    units: billable,
    ...(events ? { events } : {}),
    ...(eventCount === undefined ? {} : { eventCount }),
    ...(eventAmountTotal === undefined ? {} : { eventAmountTotal }),
  });
  const unrounded = new Dec(result.amount);
  const breakdown: InvoiceLineBreakdown[] = [];
  if (units.isNegative()) {
    breakdown.push({ description: `Negative quantity ${plain(units)} charged as 0`, units: plain(units), amount: '0' });
  } else {
    if (included.gt(0)) breakdown.push({ description: 'Included units', units: plain(minDecimal(units, included)), amount: '0' });
    breakdown.push(...result.breakdown.map(breakdownRow));
  }
  // A unit price only where there is one per unit: the 'standard' model.
  const single = charge.model === 'standard' && result.breakdown.length === 1 ? result.breakdown[0].perUnitAmount : undefined;
  const name = charge.description ?? `${charge.code} (${charge.meter})`;
  return {
    kind: 'usage',
    code: charge.code,
    description: included.gt(0) ? `${name}: ${plain(units)} units, ${plain(included)} included` : name,
    units,
    unitAmount: single === undefined ? undefined : new Dec(single),
    unrounded,
    rounded: roundToMinorUnit(unrounded, currency),
    breakdown,
    committable: true,
  };
}

function moneyLine(kind: InvoiceLineKind, code: string, description: string, unrounded: Decimal, currency: string): Line {
  return { kind, code, description, units: null, unrounded, rounded: roundToMinorUnit(unrounded, currency), breakdown: [] };
}

function total(lines: Line[], ...kinds: InvoiceLineKind[]): Decimal {
  return sum(lines.filter((l) => kinds.includes(l.kind)).map((l) => l.rounded));
}

/** The old plan's base fee on a plan change: its unused days credited (paid in advance) or its used days charged (in arrears). */
function previousPlanLine(change: InvoicePlanChangeInput, start: Date, end: Date, timeZone: string, currency: string): Line {
  const prev = change.previousBaseFee;
  const amount = toNonNegativeDec(prev.amount, 'planChange.previousBaseFee.amount');
  const split = proratePlanChange({ periodStart: start, periodEnd: end, changeAt: change.changeAt, timeZone, oldBaseFee: { amount, payInAdvance: prev.payInAdvance }, newBaseFee: { amount: '0' } });
  const name = prev.description ?? 'Previous plan base fee';
  const of = (days: number) => `${days} of ${split.periodDays} days`;
  const [description, unrounded, days] = prev.payInAdvance
    ? [`Unused time on ${name} from ${split.changeDate} (${of(split.daysOnNewPlan)})`, split.oldPlanCredit.negated(), split.daysOnNewPlan]
    : [`${name} until ${split.changeDate} (${of(split.daysOnOldPlan)})`, split.oldPlanCharge, split.daysOnOldPlan];
  return {
    ...moneyLine('base_fee', prev.code ?? 'previous_base_fee', description, unrounded, currency),
    units: new Dec(1),
    unitAmount: amount,
    breakdown: [{ description: prev.payInAdvance ? `${of(days)} credited` : of(days), units: String(days), amount: plain(unrounded) }],
  };
}

/** Composes one period's invoice. Pure: the same input always gives the same invoice. */
export function composeInvoice(input: InvoiceInput, priceCharge: ChargePricer): Invoice {
  const { currency } = input;
  assertCurrency(currency);
  const timeZone = input.period?.timeZone ?? 'UTC';
  const start = toInstant(input.period?.start, 'period.start');
  const end = toInstant(input.period?.end, 'period.end');
  if (end.getTime() <= start.getTime()) throw new PricingError('period.end must be after period.start');
  const lines: Line[] = [];

  // 1. Base fee, and the old plan's on a plan change.
  if (input.planChange) lines.push(previousPlanLine(input.planChange, start, end, timeZone, currency));
  const changeAt = input.planChange ? toInstant(input.planChange.changeAt, 'planChange.changeAt') : undefined;
  // The part of the period the current plan was active, when partial: prorates base fee and commitment.
  const window = input.baseFee?.proration ?? (changeAt ? { from: changeAt, to: end } : undefined);
  const active = window ? prorationDays({ periodStart: start, periodEnd: end, from: window.from, to: window.to, timeZone }) : undefined;
  const prorated = (amount: Decimal) => (active ? amount.times(active.days).div(active.periodDays) : amount);
  if (input.baseFee) {
    const fee = input.baseFee;
    const amount = toNonNegativeDec(fee.amount, 'baseFee.amount');
    const unrounded = prorated(amount);
    let description = fee.description ?? 'Base fee';
    const breakdown: InvoiceLineBreakdown[] = [];
    if (window && active) {
      const windowFrom = toInstant(window.from, 'baseFee.proration.from');
      const from = localDate(windowFrom.getTime() > start.getTime() ? windowFrom : start, timeZone);
      description = `${description} from ${from} (${active.days} of ${active.periodDays} days)`;
      breakdown.push({ description: `${active.days} of ${active.periodDays} days`, units: String(active.days), amount: plain(unrounded) });
    }
    lines.push({
      ...moneyLine('base_fee', fee.code ?? 'base_fee', description, unrounded, currency),
      units: new Dec(1),
      unitAmount: amount,
      breakdown,
      committable: true,
    });
  }

  // 2. Usage.
  (input.charges ?? []).forEach((charge, i) => lines.push(usageLine(charge, i, currency, priceCharge)));

  // 3. Minimum commitment true-up.
  if (input.minimumCommitment) {
    // The (prorated) minimum is rounded first: it is compared with, and shown beside, rounded fees.
    const commitment = input.minimumCommitment;
    const wholePeriod = commitment.scope === 'period';
    const activeDays = wholePeriod && commitment.activeWindow
      ? prorationDays({ periodStart: start, periodEnd: end, from: commitment.activeWindow.from, to: commitment.activeWindow.to, timeZone })
      : undefined;
    const amount = toNonNegativeDec(commitment.amount, 'minimumCommitment.amount');
    const minimum = roundToMinorUnit(wholePeriod ? (activeDays ? amount.times(activeDays.days).div(activeDays.periodDays) : amount) : prorated(amount), currency);
    const fees = sum(lines.filter((l) => l.committable || (wholePeriod && l.kind === 'base_fee')).map((l) => l.rounded));
    if (fees.lt(minimum)) {
      const name = input.minimumCommitment.description ?? 'Minimum commitment true-up';
      lines.push(moneyLine('commitment_true_up', 'minimum_commitment', `${name} (minimum ${formatMinor(minimum, currency)}, fees ${formatMinor(fees, currency)})`, minimum.minus(fees), currency));
    }
  }

  // 4. Adjustments for late usage of an already invoiced period.
  const adjustments = (input.adjustments ?? []).map((a, i): Line => {
    const unrounded = toDec(a.amount, `adjustments[${i}].amount`);
    return {
      ...moneyLine('adjustment', a.code ?? 'late_usage', a.description, unrounded, currency),
      units: toDec(a.units, `adjustments[${i}].units`),
    };
  });
  lines.push(...adjustments);
  const previousTrueUp = input.previousPeriod?.commitmentTrueUp === undefined ? ZERO : toNonNegativeDec(input.previousPeriod.commitmentTrueUp, 'previousPeriod.commitmentTrueUp');
  const lateFees = sum(adjustments.map((l) => l.rounded));
  if (previousTrueUp.gt(0) && lateFees.gt(0)) {
    const covered = minDecimal(lateFees, previousTrueUp);
    lines.push(moneyLine('adjustment', 'late_usage_covered_by_commitment', "Late usage covered by the previous period's minimum commitment true-up", covered.negated(), currency));
  }

  // 5. Discounts.
  const usageFees = total(lines, 'usage');
  let freeTierWaived = ZERO;
  if (input.freeTier) {
    const allowance = toNonNegativeDec(input.freeTier.amount, 'freeTier.amount');
    freeTierWaived = minDecimal(maxDecimal(usageFees, ZERO), allowance);
    if (freeTierWaived.gt(0)) {
      const name = input.freeTier.description ?? 'Free tier';
      lines.push(moneyLine('discount', 'free_tier', `${name} (up to ${formatMinor(roundToMinorUnit(allowance, currency), currency)} of usage)`, freeTierWaived.negated(), currency));
      freeTierWaived = lines[lines.length - 1].rounded.negated();
    }
  }
  if (input.committedUseDiscount) {
    const cud = input.committedUseDiscount;
    const percent = toNonNegativeDec(cud.percent, 'committedUseDiscount.percent');
    if (percent.gt(HUNDRED)) throw new PricingError(`committedUseDiscount.percent must be at most 100, got ${plain(percent)}`);
    const appliesTo = cud.appliesTo ?? 'usage';
    if (appliesTo !== 'usage' && appliesTo !== 'fees') throw new PricingError(`committedUseDiscount.appliesTo must be 'usage' or 'fees', got ${JSON.stringify(appliesTo)}`);
    const base = (appliesTo === 'fees' ? usageFees.plus(total(lines.filter((l) => l.committable), 'base_fee')) : usageFees).minus(freeTierWaived);
    if (base.gt(0) && percent.gt(0)) {
      const name = cud.description ?? 'Committed-use discount';
      lines.push(moneyLine('discount', 'committed_use_discount', `${name} (${plain(percent)} % of ${appliesTo === 'fees' ? 'fees' : 'usage'} ${formatMinor(base, currency)})`, base.times(percent).div(HUNDRED).negated(), currency));
    }
  }

  // 5b. Coupons (Lago's order: fees, commitment true-up, coupons, tax, prepaid credits), each on what is left.
  const couponsApplied: NonNullable<Invoice['couponsApplied']> = [];
  (input.coupons ?? []).forEach((coupon, i) => {
    const path = `coupons[${i}]`;
    if (typeof coupon.id !== 'string' || coupon.id === '' || typeof coupon.code !== 'string' || coupon.code === '') throw new PricingError(`${path}.id and .code are required`);
    const left = maxDecimal(total(lines, 'base_fee', 'usage', 'commitment_true_up', 'adjustment').minus(total(lines, 'discount').negated()), ZERO);
    let off: Decimal;
    let what: string;
    if (coupon.kind === 'percentage') {
      const percent = toNonNegativeDec(coupon.percent ?? '', `${path}.percent`);
      if (percent.gt(HUNDRED)) throw new PricingError(`${path}.percent must be at most 100, got ${plain(percent)}`);
      off = roundToMinorUnit(left.times(percent).div(HUNDRED), currency);
      what = `${plain(percent)} %`;
    } else if (coupon.kind === 'fixed_amount') {
      const amount = toNonNegativeDec(coupon.amount ?? '', `${path}.amount`);
      off = minDecimal(roundToMinorUnit(amount, currency), left);
      what = `up to ${formatMinor(roundToMinorUnit(amount, currency), currency)}`;
    } else {
      throw new PricingError(`${path}.kind must be 'fixed_amount' or 'percentage', got ${JSON.stringify(coupon.kind)}`);
    }
    off = minDecimal(off, left);
    couponsApplied.push({ id: coupon.id, code: coupon.code, amount: formatMinor(off, currency) });
    if (off.gt(0)) lines.push(moneyLine('discount', `coupon:${coupon.code}`, `${coupon.description ?? `Coupon ${coupon.code}`} (${what})`, off.negated(), currency));
  });

  // 6. Tax.
  const subtotal = total(lines, 'base_fee', 'usage', 'commitment_true_up', 'adjustment');
  const discountTotal = total(lines, 'discount').negated();
  const taxable = subtotal.minus(discountTotal);
  let tax = ZERO;
  if (input.taxRatePercent !== undefined) {
    const rate = toNonNegativeDec(input.taxRatePercent, 'taxRatePercent');
    const line = moneyLine('tax', 'tax', `Tax ${plain(rate)} % of ${formatMinor(taxable, currency)}`, taxable.times(rate).div(HUNDRED), currency);
    lines.push(line);
    tax = line.rounded;
  }
  const invoiceTotal = taxable.plus(tax);

  // 7. Prepaid credits.
  const balance = input.prepaidCredits ? toNonNegativeDec(input.prepaidCredits.balance, 'prepaidCredits.balance') : ZERO;
  // Only whole minor units of the balance can pay: a balance of 10.005 EUR pays at most 10.00.
  const usable = balance.toDecimalPlaces(minorUnits(currency), Dec.ROUND_DOWN);
  const creditsApplied = minDecimal(usable, maxDecimal(invoiceTotal, ZERO));
  if (creditsApplied.gt(0)) lines.push(moneyLine('credit', 'prepaid_credits', 'Prepaid credits applied', creditsApplied.negated(), currency));
  const amountDue = maxDecimal(invoiceTotal, ZERO).minus(creditsApplied);
  const creditBalanceAfter = balance.minus(creditsApplied).plus(maxDecimal(invoiceTotal.negated(), ZERO));

  const money = (d: Decimal) => formatMinor(d, currency);
  return {
    currency,
    period: { start: start.toISOString(), end: end.toISOString(), timeZone },
    lines: lines.map((l): InvoiceLine => {
      const out: InvoiceLine = {
        kind: l.kind,
        code: l.code,
        description: l.description,
        units: l.units === null ? null : plain(l.units),
        amountUnrounded: plain(l.unrounded),
        amount: money(l.rounded),
        breakdown: l.breakdown,
      };
      if (l.unitAmount !== undefined) out.unitAmount = plain(l.unitAmount);
      return out;
    }),
    subtotal: money(subtotal),
    ...(input.coupons ? { couponsApplied } : {}),
    discountTotal: money(discountTotal),
    taxableAmount: money(taxable),
    tax: money(tax),
    total: money(invoiceTotal),
    creditsApplied: money(creditsApplied),
    amountDue: money(amountDue),
    creditBalanceAfter: creditBalanceAfter.toFixed(Math.max(minorUnits(currency), creditBalanceAfter.decimalPlaces())),
  };
}
