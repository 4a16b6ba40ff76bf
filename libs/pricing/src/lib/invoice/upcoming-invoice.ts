import type Decimal from 'decimal.js';
import { type ChargePricer, PricingError } from '../charge-model';
import { composeInvoice } from './invoice-composer';
import type { InvoiceChargeInput, InvoiceInput, UpcomingInvoice } from './invoice-types';
import { Dec, type DecimalInput, type Instant, plain, sum, toDec, toInstant } from './money';

/**
 * Linear run-rate: the usage at period end if the rest of the period goes on at the average rate
 * so far, usageSoFar / elapsedFraction (unrounded). 30 units after a quarter of the period → 120.
 * elapsedFraction must be in (0, 1]: with nothing elapsed there is no rate to project.
 */
export function projectPeriodEnd(usageSoFar: DecimalInput, elapsedFraction: DecimalInput): Decimal {
  // A negative run-rate projects to a negative quantity, which the composer charges as 0.
  const usage = toDec(usageSoFar, 'usageSoFar');
  const fraction = toDec(elapsedFraction, 'elapsedFraction');
  if (fraction.lte(0) || fraction.gt(1)) {
    throw new PricingError(`elapsedFraction must be greater than 0 and at most 1, got ${plain(fraction)}`);
  }
  return usage.div(fraction);
}

/** Share of [start, end) elapsed at asOf, by elapsed time; 1 at or after the end. */
export function elapsedFraction(start: Instant, end: Instant, asOf: Instant): Decimal {
  const s = toInstant(start, 'period.start').getTime();
  const e = toInstant(end, 'period.end').getTime();
  const now = toInstant(asOf, 'asOf').getTime();
  if (e <= s) throw new PricingError('period.end must be after period.start');
  if (now <= s) throw new PricingError('asOf must be after period.start: nothing has elapsed to project from');
  if (now >= e) return new Dec(1);
  return new Dec(now - s).div(e - s);
}

/**
 * Per-event values (percentage models) projected the same way: the events so far repeated in order
 * until there are round(n / fraction) of them, half up — the rest of the period "looks like" the part
 * so far. Their sum is the projected units (the percentage models need units = sum of events), so
 * such a charge's projection is linear up to that rounding of the event count.
 */
function projectEvents(events: DecimalInput[], fraction: Decimal): DecimalInput[] {
  if (events.length === 0) return [];
  const count = new Dec(events.length).div(fraction).toDecimalPlaces(0, Dec.ROUND_HALF_UP).toNumber();
  return Array.from({ length: count }, (_, i) => events[i % events.length]);
}

/**
 * Units by linear run-rate; a charge priced per event gets projected events, and their sum as units;
 * an event count is projected like the events (rounded half up), the events' amount total linearly.
 */
function projectCharge(charge: InvoiceChargeInput, fraction: Decimal): InvoiceChargeInput {
  // A prorated charge already counts the units held now until period end; later changes are not guessed.
  if (charge.usage.prorated !== undefined) return charge;
  const { eventCount, eventAmountTotal } = charge.usage;
  const extra = {
    ...(eventCount === undefined ? {} : { eventCount: new Dec(eventCount).div(fraction).toDecimalPlaces(0, Dec.ROUND_HALF_UP).toNumber() }),
    ...(eventAmountTotal === undefined ? {} : { eventAmountTotal: projectPeriodEnd(eventAmountTotal, fraction) }),
  };
  if (charge.usage.events) {
    const events = projectEvents(charge.usage.events, fraction);
    return { ...charge, usage: { units: sum(events.map((e, i) => toDec(e, `events[${i}]`))), events, ...(eventCount === undefined ? {} : { eventCount: events.length }) } };
  }
  return { ...charge, usage: { units: projectPeriodEnd(charge.usage.units, fraction), ...extra } };
}

/**
 * The running period's invoice preview. `invoiceSoFar` prices the usage so far as if the period
 * ended now (without the minimum-commitment true-up, which only a whole period can owe);
 * `projectedInvoice` projects every charge's units to period end by linear run-rate
 * (`projectPeriodEnd`) and composes the full invoice through the same composer, true-up included.
 * Base fee, adjustments, discounts, tax and credits are the same in both.
 */
export function upcomingInvoice(
  input: InvoiceInput,
  asOf: Instant,
  priceCharge: ChargePricer,
  /** When usage accrues in only part of the period (a subscription started mid-period): the run-rate is over this part. */
  usageWindow: { start: Instant; end: Instant } = input.period,
): UpcomingInvoice {
  const fraction = elapsedFraction(usageWindow.start, usageWindow.end, asOf);
  const invoiceSoFar = composeInvoice({ ...input, minimumCommitment: undefined }, priceCharge);
  const projectedInvoice = composeInvoice(
    { ...input, charges: (input.charges ?? []).map((c) => projectCharge(c, fraction)) },
    priceCharge,
  );
  return {
    asOf: toInstant(asOf, 'asOf').toISOString(),
    elapsedFraction: plain(fraction),
    invoiceSoFar,
    projectedInvoice,
    projectedTotal: projectedInvoice.total,
    projectedAmountDue: projectedInvoice.amountDue,
  };
}
