import type Decimal from 'decimal.js';
import type { ChargeBreakdownLine, ChargeInput, ChargeResult } from '../charge-model';
import { PricingError } from '../charge-model';
import type { PercentageProperties } from './charge-properties';
import { HUNDRED, maxDecimal, PricingDecimal, sum, ZERO } from './pricing-decimal';

/**
 * Lago's running total (BillableMetrics::Aggregations::SumService#running_total): the cumulative
 * sums of the first free_units_per_events events when that is set; otherwise of the events up to
 * and including the one that takes the sum past free_units_per_total_aggregation; none when
 * neither is set.
 */
function runningTotal(events: readonly Decimal[], freeEvents: number, freeTotal: Decimal): Decimal[] {
  if (freeEvents === 0 && freeTotal.isZero()) return [];
  const totals: Decimal[] = [];
  let total = ZERO;
  for (const event of freeEvents > 0 ? events.slice(0, freeEvents) : events) {
    if (freeEvents === 0 && freeTotal.lt(total)) break;
    total = total.plus(event);
    totals.push(total);
  }
  return totals;
}

/**
 * Lago's PercentageService without per-transaction limits, on the summed units:
 *   free units  = the running total's last value, capped at free_units_per_total_aggregation when
 *                 that is set (so with both free settings: whichever is reached first)
 *   free events = the smallest non-zero of free_units_per_events and the count of running totals
 *                 strictly below free_units_per_total_aggregation
 *   amount      = (units − free units) × rate / 100 + (events − free events) × fixed_amount,
 *                 with no fixed amount at all when the units are 0.
 */
function aggregateParts(p: PercentageProperties, units: Decimal, events: readonly Decimal[]) {
  const totals = runningTotal(events, p.freeUnitsPerEvents, p.freeUnitsPerTotalAggregation);
  const last = totals.at(-1) ?? ZERO;
  let freeUnits: Decimal;
  if (last.isZero() || p.freeUnitsPerTotalAggregation.isZero() || last.lte(p.freeUnitsPerTotalAggregation)) freeUnits = last;
  else freeUnits = p.freeUnitsPerTotalAggregation;

  const belowFreeTotal = totals.filter((t) => t.lt(p.freeUnitsPerTotalAggregation)).length;
  const candidates = [p.freeUnitsPerEvents, belowFreeTotal].filter((n) => n !== 0);
  const freeEvents = candidates.length === 0 ? 0 : Math.min(...candidates);

  const paidUnits = maxDecimal(units.minus(freeUnits), ZERO);
  const percentageAmount = paidUnits.times(p.rate).dividedBy(HUNDRED);
  const paidEvents = units.isZero() ? 0 : Math.max(events.length - freeEvents, 0);
  const fixedAmount = p.fixedAmount.times(paidEvents);
  return { freeUnits: units.minus(paidUnits), paidUnits, percentageAmount, paidEvents, fixedAmount };
}

/**
 * Lago's PercentageService#compute_amount_with_transaction_min_max, used when a per-transaction
 * minimum or maximum is set: event by event, the free events and then the free amount are used up
 * (a free event costs nothing, not even the minimum); every other event costs
 * (its amount beyond what is left of the free amount) × rate / 100 + fixed_amount, clamped to
 * [min, max]. An event that uses up exactly the last of the free amount is a paid event of 0.
 */
function perTransactionTotal(p: PercentageProperties, events: readonly Decimal[]): Decimal {
  let freeEventsLeft = p.freeUnitsPerEvents;
  let freeAmountLeft = p.freeUnitsPerTotalAggregation;
  let total = ZERO;
  for (const event of events) {
    let value = event;
    if (freeEventsLeft > 0 || freeAmountLeft.gt(0)) {
      freeEventsLeft -= 1;
      if (!freeAmountLeft.gt(0)) continue;
      if (freeAmountLeft.gt(value)) {
        freeAmountLeft = freeAmountLeft.minus(value);
        continue;
      }
      value = value.minus(freeAmountLeft);
      freeAmountLeft = ZERO;
      freeEventsLeft = 0;
    }
    let eventAmount = value.times(p.rate).dividedBy(HUNDRED).plus(p.fixedAmount);
    if (p.perTransactionMinAmount && eventAmount.lt(p.perTransactionMinAmount)) eventAmount = p.perTransactionMinAmount;
    else if (p.perTransactionMaxAmount && eventAmount.gt(p.perTransactionMaxAmount)) eventAmount = p.perTransactionMaxAmount;
    total = total.plus(eventAmount);
  }
  return total;
}

/**
 * `percentage` from units alone, when no property works event by event (Lago's PercentageService
 * never reads the events then: no running total, no free units, no min/max):
 * units × rate / 100 + eventCount × fixed_amount (no fixed amount when the units are 0).
 */
function priceFromUnits(p: PercentageProperties, units: Decimal, eventCount: number | undefined): ChargeResult {
  const perEvent = [
    p.freeUnitsPerEvents > 0 && 'free_units_per_events',
    !p.freeUnitsPerTotalAggregation.isZero() && 'free_units_per_total_aggregation',
    p.perTransactionMinAmount && 'per_transaction_min_amount',
    p.perTransactionMaxAmount && 'per_transaction_max_amount',
  ].filter((name): name is string => typeof name === 'string');
  if (perEvent.length > 0) {
    throw new PricingError(`events are required by the percentage charge model with ${perEvent.join(', ')} (one amount per event; units is their sum)`);
  }
  if (eventCount === undefined && !p.fixedAmount.isZero()) {
    throw new PricingError('eventCount (or events) is required by the percentage charge model with a fixed_amount, which is charged per event');
  }
  const percentageAmount = units.times(p.rate).dividedBy(HUNDRED);
  const paidEvents = units.isZero() || eventCount === undefined ? 0 : eventCount;
  const fixedAmount = p.fixedAmount.times(paidEvents);
  const breakdown: ChargeBreakdownLine[] = [{ description: `${p.rate.toFixed()} % of units`, units, amount: percentageAmount, rate: p.rate }];
  if (!p.fixedAmount.isZero()) {
    breakdown.push({ description: `fixed amount per event (${paidEvents})`, units: new PricingDecimal(paidEvents), amount: fixedAmount, perUnitAmount: p.fixedAmount });
  }
  return { amount: percentageAmount.plus(fixedAmount), units, breakdown };
}

/**
 * `percentage`: a rate on the summed event amounts plus a fixed amount per event, after free
 * events / free amount, optionally clamped per transaction. With events, units must be their sum;
 * without, only a rate (and a fixed amount with an eventCount) can be priced.
 */
export function pricePercentage(p: PercentageProperties, { units, events, eventCount }: ChargeInput): ChargeResult {
  if (events === undefined) return priceFromUnits(p, units, eventCount);
  const eventsTotal = sum(events);
  if (!eventsTotal.eq(units)) {
    throw new PricingError(`units (${units.toFixed()}) must equal the sum of events (${eventsTotal.toFixed()}) for the percentage charge model`);
  }
  const parts = aggregateParts(p, units, events);
  const breakdown: ChargeBreakdownLine[] = [
    { description: 'free units', units: parts.freeUnits, amount: ZERO },
    { description: `${p.rate.toFixed()} % of paid units`, units: parts.paidUnits, amount: parts.percentageAmount, rate: p.rate },
    {
      description: `fixed amount per paid event (${parts.paidEvents} of ${events.length})`,
      units: new PricingDecimal(parts.paidEvents),
      amount: parts.fixedAmount,
      perUnitAmount: p.fixedAmount,
    },
  ];
  let amount = parts.percentageAmount.plus(parts.fixedAmount);
  if (p.perTransactionMinAmount || p.perTransactionMaxAmount) {
    const clamped = perTransactionTotal(p, events);
    breakdown.push({
      description: 'per-transaction minimum/maximum adjustment',
      units: new PricingDecimal(events.length),
      amount: clamped.minus(amount),
    });
    amount = clamped;
  }
  return { amount, units, breakdown };
}
