import type Decimal from 'decimal.js';
import type { ChargeBreakdownLine, ChargeResult } from '../charge-model';
import { PricingError } from '../charge-model';
import { type DecimalInput, type Instant, toDec, toInstant } from '../invoice/money';
import { touchedDays } from '../invoice/proration';
import { type PriceRange, validateChargeProperties } from './charge-properties';
import { describeRange } from './graduated-charge';
import { maxDecimal, sum, toPricingDecimal, ZERO } from './pricing-decimal';
import { priceVolumeIn } from './volume-charge';

// Lago's `prorated: true` charges: a recurring billable metric (seats, licences, GB provisioned) is
// billed for the part of the period each unit was held. Lago allows it on standard, graduated and
// volume charges paid in arrears (Charge#validate_prorated).

/** The charge models a prorated charge may use. */
export const PRORATED_CHARGE_MODELS = ['standard', 'graduated', 'volume'] as const;
export type ProratedChargeModel = (typeof PRORATED_CHARGE_MODELS)[number];

/**
 * One change of the units held, in event-time order: its full units (negative for a removal) and
 * those units prorated by the part of the period they are held (see `prorateHolding`).
 */
export interface ProratedEvent {
  units: Decimal;
  proratedUnits: Decimal;
}

/** Units held from `from` until `to` (a removal; absent: until the period ends). Negative units are a removal. */
export interface UnitHolding {
  units: DecimalInput;
  from: Instant;
  to?: Instant;
}

/** A billing period, half-open [start, end), its days counted in the customer's time zone. */
export interface ProrationPeriod {
  start: Instant;
  end: Instant;
  /** IANA time zone; UTC when absent. */
  timeZone?: string;
}

function localDay(instant: Date, timeZone: string): number {
  return touchedDays(instant, instant, timeZone).first;
}

/**
 * A holding's units prorated by the days it is held in the period, Lago's rule
 * (Events::Stores::PostgresStore#prorated_sum / Postgres::UniqueCountQuery#period_ratio_sql):
 *   units × (last day − first day + 1) / days of the period
 * in whole local days, both ends included: the first day is the later of `from` and the period
 * start; the last is the day of `to` (a unit removed on the 10th was held on the 10th) or the
 * period's last day. A unit added on the last day of a 30-day period counts 1/30; held from before
 * the period (a recurring value carried over) and never removed, 30/30; removed before the period, 0.
 */
export function prorateHolding(holding: UnitHolding, period: ProrationPeriod): ProratedEvent {
  const timeZone = period.timeZone ?? 'UTC';
  const start = toInstant(period.start, 'period.start');
  const end = toInstant(period.end, 'period.end');
  if (end.getTime() <= start.getTime()) throw new PricingError('period.end must be after period.start');
  const units = toDec(holding.units, 'units');
  const from = toInstant(holding.from, 'from');
  const to = holding.to === undefined ? undefined : toInstant(holding.to, 'to');
  if (to !== undefined && to.getTime() < from.getTime()) throw new PricingError('to must not be before from');
  const lastInstant = new Date(end.getTime() - 1);
  const periodFirst = localDay(start, timeZone);
  const periodDays = localDay(lastInstant, timeZone) - periodFirst + 1;
  const first = localDay(from.getTime() > start.getTime() ? from : start, timeZone);
  let days = 0;
  if (from.getTime() < end.getTime() && (to === undefined || to.getTime() >= start.getTime())) {
    const last = localDay(to === undefined || to.getTime() > lastInstant.getTime() ? lastInstant : to, timeZone);
    days = Math.max(0, last - first + 1);
  }
  return { units, proratedUnits: units.times(days).dividedBy(periodDays) };
}

function checkEvents(events: readonly ProratedEvent[]): ProratedEvent[] {
  if (!Array.isArray(events)) throw new PricingError('events must be an array of { units, proratedUnits }');
  return events.map((event, index) => {
    const path = `events[${index}]`;
    const finite = (value: unknown, field: string): Decimal => {
      const decimal = value as Decimal;
      if (typeof value !== 'object' || value === null || typeof decimal.isFinite !== 'function' || !decimal.isFinite()) {
        throw new PricingError(`${path}.${field} must be a finite Decimal`);
      }
      return toPricingDecimal(decimal);
    };
    const units = finite(event?.units, 'units');
    const proratedUnits = finite(event?.proratedUnits, 'proratedUnits');
    // Prorating multiplies by the held share of the period, in [0, 1]: same sign, never more.
    if (proratedUnits.abs().gt(units.abs()) || (!proratedUnits.isZero() && proratedUnits.isNegative() !== units.isNegative())) {
      throw new PricingError(`${path}.proratedUnits (${proratedUnits.toFixed()}) must lie between 0 and units (${units.toFixed()})`);
    }
    return { units, proratedUnits };
  });
}

function zeroResult(units: Decimal, description: string): ChargeResult {
  return { amount: ZERO, units, breakdown: [{ description, units, amount: ZERO }] };
}

/**
 * Lago's ProratedGraduatedService, restated: the running sum of full units decides the range, the
 * prorated units decide the amount. An event moving the running sum across a range bound is split
 * across those ranges in proportion to its full units (its prorated/full share in each), so 5 seats
 * added above 2 with ranges 0–5 / 6–∞ put 3/5 of their prorated units in 0–5 and 2/5 in 6–∞.
 * Range i spans running sums (previous to_value, to_value]; below 0 counts as the first range. Flat
 * amounts are not prorated: every range up to the one holding the highest running sum charges its
 * flat amount (the first one always). A negative per-unit total is charged as 0 (flat amounts stay).
 * Like Lago, an addition whose prorated units are 0 (held before the period only) does not move the
 * running sum, nor does a removal of 0 prorated units that would take it below 0.
 */
function priceProratedGraduated(ranges: readonly PriceRange[], events: readonly ProratedEvent[], units: Decimal): ChargeResult {
  const proratedInRange = ranges.map(() => ZERO);
  let running = ZERO;
  let highest = ZERO;
  for (const { units: full, proratedUnits } of events) {
    if (full.isZero()) continue;
    if (proratedUnits.isZero() && (full.isPositive() || running.plus(full).isNegative())) continue;
    const low = full.isPositive() ? running : running.plus(full);
    const high = full.isPositive() ? running.plus(full) : running;
    const share = proratedUnits.dividedBy(full);
    const sign = full.isPositive() ? 1 : -1;
    ranges.forEach((range, index) => {
      const lower = index === 0 ? null : ranges[index - 1].toValue;
      const upper = range.toValue;
      const from = lower === null ? low : maxDecimal(low, lower);
      const to = upper === null ? high : high.lt(upper) ? high : upper;
      if (to.gt(from)) proratedInRange[index] = proratedInRange[index].plus(to.minus(from).times(share).times(sign));
    });
    running = running.plus(full);
    if (running.gt(highest)) highest = running;
  }
  const lastFlatIndex = ranges.findIndex((range) => range.toValue === null || highest.lte(range.toValue));
  const breakdown: ChargeBreakdownLine[] = [];
  ranges.forEach((range, index) => {
    const flatAmount = index <= lastFlatIndex ? range.flatAmount : ZERO;
    if (index > lastFlatIndex && proratedInRange[index].isZero()) return;
    breakdown.push({
      description: `${describeRange(index, range)}, prorated units`,
      units: proratedInRange[index],
      amount: proratedInRange[index].times(range.perUnitAmount).plus(flatAmount),
      fromValue: range.fromValue,
      toValue: range.toValue,
      perUnitAmount: range.perUnitAmount,
      flatAmount,
    });
  });
  const perUnitTotal = sum(ranges.map((range, index) => proratedInRange[index].times(range.perUnitAmount)));
  if (perUnitTotal.isNegative()) {
    breakdown.push({ description: 'negative prorated amount charged as 0', units: ZERO, amount: perUnitTotal.negated() });
  }
  return { amount: sum(breakdown.map((line) => line.amount)), units, breakdown };
}

/**
 * Prices a prorated charge (Lago's `prorated: true`) from the period's changes of units held, in
 * event-time order. `units` of the result are the prorated units (their sum).
 * - standard: prorated units × amount (StandardService on the prorated aggregation);
 * - volume: the range the full units held at period end land in, its per-unit amount × the
 *   prorated units, plus its flat amount, not prorated (VolumeService with full_units_number);
 * - graduated: see `priceProratedGraduated` (ProratedGraduatedService).
 * Negative full units at period end, or negative prorated units, are charged as 0 (lago-api#2966).
 * @throws PricingError for another model, invalid properties or events.
 */
export function priceProratedCharge(model: string, properties: unknown, events: readonly ProratedEvent[]): ChargeResult {
  if (!(PRORATED_CHARGE_MODELS as readonly string[]).includes(model)) {
    throw new PricingError(`prorated charges use the ${PRORATED_CHARGE_MODELS.join(', ')} models (as in Lago), got ${JSON.stringify(model)}`);
  }
  const charge = validateChargeProperties(model, properties);
  const checked = checkEvents(events);
  const fullUnits = sum(checked.map((event) => event.units));
  const proratedUnits = sum(checked.map((event) => event.proratedUnits));
  if (fullUnits.isNegative()) return zeroResult(proratedUnits, `negative quantity ${fullUnits.toFixed()} held at period end charged as 0`);
  if (charge.model === 'graduated') {
    // Lago prices no prorated units at the first range's flat amount alone.
    if (proratedUnits.isZero()) return priceProratedGraduated(charge.properties.graduatedRanges, [], proratedUnits);
    return priceProratedGraduated(charge.properties.graduatedRanges, checked, proratedUnits);
  }
  if (proratedUnits.isNegative()) return zeroResult(proratedUnits, `negative prorated quantity ${proratedUnits.toFixed()} charged as 0`);
  if (charge.model === 'volume') return priceVolumeIn(charge.properties.volumeRanges, fullUnits, proratedUnits);
  if (charge.model === 'standard') {
    const { amount } = charge.properties;
    const total = proratedUnits.times(amount);
    return { amount: total, units: proratedUnits, breakdown: [{ description: `${proratedUnits.toFixed()} prorated units × ${amount.toFixed()}`, units: proratedUnits, amount: total, perUnitAmount: amount }] };
  }
  throw new PricingError(`prorated ${model} charges are not supported`);
}
