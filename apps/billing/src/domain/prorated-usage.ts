import { Dec, priceProratedCharge, prorationDays, type Instant } from '@tally/pricing';
import type Decimal from 'decimal.js';

/**
 * What the pricing library's `priceProratedCharge` needs for one prorated charge of one period, from what
 * billing holds: the units held when the period opened (the subscription's usage of the meter in its earlier
 * periods), the period's usage (its change of units held) and its held unit-days (aggregation's
 * `heldUnitDays`: Σ value × local days from each event's day to the period's last day).
 *
 * Lago's rule (`prorateHolding`): a unit counts (days held) / (days of the period). The period's days are
 * the nominal period's in the customer's zone (as the base fee is prorated: a first period from Jan 15 counts
 * against January's 31 days). Units held at the opening are held from the period's first day to its last:
 * all of it, or up to the day a cancellation ended it.
 */
export interface ProratedUsageSource {
  meter: string;
  /** Units held when the period opened (full units), decimal string. */
  openingUnits: string;
  /** The period's usage of the meter: the change of units held. */
  periodUnits: string;
  /** Aggregation's heldUnitDays for the period, null when the aggregate carried none. */
  heldUnitDays: string | null;
  /** The nominal period (its local days are the denominator) and the part the subscription ran in it. */
  nominal: { start: Instant; end: Instant };
  active: { start: Instant; end: Instant };
  timeZone: string;
}

export interface ProratedUsage {
  /** Units held at period end (opening + change), shown on the line. */
  units: string;
  /**
   * Events with the same full and prorated totals as the period's (standard and volume depend on those sums
   * only): the opening, the change's prorated part held as it is, and the rest of the change with none.
   */
  prorated: Array<{ units: string; proratedUnits: string }>;
}

export class ProratedUsageError extends Error {}

export function proratedUsage(src: ProratedUsageSource): ProratedUsage {
  const { days, periodDays } = prorationDays({ periodStart: src.nominal.start, periodEnd: src.nominal.end, from: src.active.start, to: src.active.end, timeZone: src.timeZone });
  const opening = new Dec(src.openingUnits);
  const change = new Dec(src.periodUnits);
  if (src.heldUnitDays === null && !change.isZero()) {
    throw new ProratedUsageError(
      `prorated charge on meter "${src.meter}": the period's usage (${change.toFixed()}) carries no heldUnitDays; aggregation keeps it only for SUM meters of subscriptions whose plan charges the meter prorated (a COUNT, MAX or other meter cannot be prorated)`,
    );
  }
  const proratedChange = src.heldUnitDays === null ? new Dec(0) : new Dec(src.heldUnitDays).div(periodDays);
  const events: ProratedUsage['prorated'] = [];
  if (!opening.isZero()) events.push({ units: opening.toFixed(), proratedUnits: opening.times(days).div(periodDays).toFixed() });
  // The change's prorated units need not lie between 0 and its full units (5 seats added on day 1 and removed
  // on day 20: 0 units, 19 × 5 unit-days), so it is split in two events that keep both sums.
  if (!proratedChange.isZero()) events.push({ units: proratedChange.toFixed(), proratedUnits: proratedChange.toFixed() });
  if (!change.minus(proratedChange).isZero()) events.push({ units: change.minus(proratedChange).toFixed(), proratedUnits: '0' });
  return { units: opening.plus(change).toFixed(), prorated: events };
}

/** The period a prorated charge is priced in: its nominal bounds (the denominator's days), the part it ran, the zone. */
export interface ProratedPeriod {
  nominal: { start: Instant; end: Instant };
  active: { start: Instant; end: Instant };
  timeZone: string;
}

/** What a finalized period billed for a prorated meter (invoiced_usage): units, held unit-days and the opening. */
export interface ProratedBilled {
  units: string;
  heldUnitDays: string;
  openingUnits: string;
}

export interface ProratedCorrection {
  meter: string;
  /** The period's change of units since it was billed (ledger − billed), any sign. */
  units: string;
  /** The change of held unit-days since it was billed. */
  heldUnitDays: string;
  /** The change of the units held at the opening since it was billed (late events of earlier periods). */
  openingUnits: string;
  /** price(now) − price(billed), unrounded: positive bills more, negative credits. */
  amount: Decimal;
  description: string;
}

/**
 * A finalized period's prorated charge re-priced after its usage moved (late events): Lago's price of the period
 * now minus what was billed. "Now" includes the opening as it is now: a late event of an earlier period changes
 * the units every later period opened with, so each of them is re-priced too. Null when nothing moved.
 */
export function proratedCorrection(
  charge: { meter: string; model: string; properties: unknown },
  billed: ProratedBilled,
  ledger: { units: string; heldUnitDays: string | null; openingUnits: string },
  period: ProratedPeriod,
  periodStart: Date,
): ProratedCorrection | null {
  const units = new Dec(ledger.units).minus(billed.units);
  const held = new Dec(ledger.heldUnitDays ?? '0').minus(billed.heldUnitDays);
  const opening = new Dec(ledger.openingUnits).minus(billed.openingUnits);
  if (units.isZero() && held.isZero() && opening.isZero()) return null;
  const price = (openingUnits: string, periodUnits: string, heldUnitDays: string | null) =>
    priceProratedCharge(charge.model, charge.properties, proratedUsage({ meter: charge.meter, openingUnits, periodUnits, heldUnitDays, ...period }).prorated.map((e) => ({ units: new Dec(e.units), proratedUnits: new Dec(e.proratedUnits) }))).amount;
  const amount = new Dec(price(ledger.openingUnits, ledger.units, ledger.heldUnitDays)).minus(price(billed.openingUnits, billed.units, billed.heldUnitDays));
  const signed = (d: Decimal) => `${d.isNegative() ? '' : '+'}${d.toFixed()}`;
  return {
    meter: charge.meter,
    units: units.toFixed(),
    heldUnitDays: held.toFixed(),
    openingUnits: opening.toFixed(),
    amount,
    description: `${charge.meter}: units held in the period from ${periodStart.toISOString()} changed after it was invoiced (${signed(units)} units, ${signed(held)} unit-days${opening.isZero() ? '' : `, ${signed(opening)} held at its opening`}), prorated`,
  };
}
