import type { ChargeProperties } from './charge-properties';

/** Something a charge needs, besides its units, to be priced (see `ChargeInput`). */
export interface ChargeInputNeed {
  input: 'events' | 'eventCount' | 'eventAmountTotal';
  /** Why, naming the property (or model) that needs it. */
  reason: string;
}

/**
 * What a charge needs beyond the period's units, so a caller that only has totals (billing's period
 * usage) can refuse a charge it cannot feed instead of failing when the invoice is composed.
 * Empty for every model priced from units alone, `percentage` with only a rate included (Lago's
 * PercentageService then computes units × rate / 100 and never reads the events).
 */
export function chargeInputNeeds(charge: ChargeProperties): ChargeInputNeed[] {
  const needs: ChargeInputNeed[] = [];
  if (charge.model === 'dynamic') {
    needs.push({ input: 'eventAmountTotal', reason: 'dynamic charges price the amounts the events carry' });
  } else if (charge.model === 'percentage') {
    const p = charge.properties;
    const perEvent = (property: string) => needs.push({ input: 'events', reason: `${property} works event by event, so it needs each event's amount` });
    if (p.freeUnitsPerEvents > 0) perEvent('free_units_per_events');
    if (!p.freeUnitsPerTotalAggregation.isZero()) perEvent('free_units_per_total_aggregation');
    if (p.perTransactionMinAmount) perEvent('per_transaction_min_amount');
    if (p.perTransactionMaxAmount) perEvent('per_transaction_max_amount');
    if (!p.fixedAmount.isZero()) needs.push({ input: 'eventCount', reason: 'fixed_amount is charged per event, so it needs the number of events' });
  }
  return needs;
}
