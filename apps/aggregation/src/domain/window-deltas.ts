import { Decimal as BaseDecimal } from 'decimal.js';
import type { Aggregation, UsageEvent } from '@tally/contracts';
import { daysHeld } from './held-unit-days';
import { windowsFor, type BillingPeriod, type Window } from './windows';

// Quantities are summed exactly: 60 significant digits is far beyond any meter's range.
const Decimal = BaseDecimal.clone({ precision: 60 });
type Decimal = BaseDecimal;

/** What a batch adds to one (customer, meter, window); merged in memory before one multi-row upsert. */
export interface WindowDelta {
  tenant: string;
  customer: string;
  meter: string;
  aggregation: Aggregation;
  window: Window;
  sum: Decimal;
  count: number;
  min: Decimal | null;
  max: Decimal | null;
  latest: { value: string | null; time: Date } | null;
  distinctValues: Set<string>;
  /**
   * Σ value × days held to the period's last local day (held-unit-days.ts): only on PERIOD windows of a
   * SUM meter the subscription charges prorated, null everywhere else (and then costs nothing).
   */
  heldUnitDays: Decimal | null;
  lastEventTime: Date;
  /** The newest contributing event, whose trace the derived aggregate continues. */
  lastEventId: string;
}

export const windowDeltaKey = (d: Pick<WindowDelta, 'tenant' | 'customer' | 'meter' | 'window'>): string =>
  `${d.tenant}\u0000${d.customer}\u0000${d.meter}\u0000${d.window.kind}\u0000${d.window.start.getTime()}`;

/**
 * Pre-aggregates a batch of (already deduplicated) events into per-window deltas. `periodsOf` gives a
 * customer's known billing periods (none: calendar months). It runs for every reading of every event, in
 * each of its windows: the key is built without an intermediate object, each reading's value is parsed
 * once for all its windows, and each delta is created with its final shape.
 */
export function computeWindowDeltas(
  events: UsageEvent[],
  periodsOf: (tenant: string, customer: string) => readonly BillingPeriod[] = () => [],
): Map<string, WindowDelta> {
  const deltas = new Map<string, WindowDelta>();
  for (const event of events) {
    const time = new Date(event.time);
    const ms = time.getTime();
    const windows = windowsFor(time, periodsOf(event.tenant, event.subject));
    for (const reading of event.readings) {
      const unique = reading.aggregation === 'UNIQUE_COUNT';
      const value = unique || reading.value === null ? null : new Decimal(reading.value);
      for (const window of windows) {
        // Must equal windowDeltaKey(delta): callers look deltas up by it.
        const key = `${event.tenant}\u0000${event.subject}\u0000${reading.meter}\u0000${window.kind}\u0000${window.start.getTime()}`;
        let d = deltas.get(key);
        if (d === undefined) {
          d = newDelta(event, reading.meter, reading.aggregation, window, time);
          deltas.set(key, d);
        }
        d.count += 1;
        if (ms >= d.lastEventTime.getTime()) {
          d.lastEventTime = time;
          d.lastEventId = event.eventId;
        }
        if (unique) {
          if (reading.value !== null) d.distinctValues.add(reading.value);
          continue;
        }
        if (value === null) continue;
        d.sum = d.sum.plus(value);
        if (d.heldUnitDays !== null) d.heldUnitDays = d.heldUnitDays.plus(value.times(daysHeld(ms, window, (window.proration as NonNullable<Window['proration']>).timeZone)));
        if (d.min === null || value.lt(d.min)) d.min = value;
        if (d.max === null || value.gt(d.max)) d.max = value;
        if (d.latest === null || ms >= d.latest.time.getTime()) d.latest = { value: reading.value, time };
      }
    }
  }
  return deltas;
}

const ZERO = new Decimal(0);

function newDelta(event: UsageEvent, meter: string, aggregation: Aggregation, window: Window, time: Date): WindowDelta {
  return {
    tenant: event.tenant,
    customer: event.subject,
    meter,
    aggregation,
    window,
    sum: ZERO,
    count: 0,
    min: null,
    max: null,
    latest: null,
    distinctValues: new Set(),
    heldUnitDays: window.proration !== undefined && aggregation === 'SUM' && window.proration.meters.has(meter) ? ZERO : null,
    lastEventTime: time,
    lastEventId: event.eventId,
  };
}

/** A stored numeric as a plain decimal string (no exponent, no trailing zeros). */
export const plainDecimal = (v: string): string => new Decimal(v).toFixed();

/** The reported value of a window from its stored accumulators. */
export function windowValue(
  aggregation: Aggregation,
  acc: { sum: string; count: number; min: string | null; max: string | null; latest: string | null; distinct: number },
): string {
  switch (aggregation) {
    case 'SUM':
      return new Decimal(acc.sum).toFixed();
    case 'COUNT':
      return String(acc.count);
    case 'MIN':
      return acc.min === null ? '0' : new Decimal(acc.min).toFixed();
    case 'MAX':
      return acc.max === null ? '0' : new Decimal(acc.max).toFixed();
    case 'AVG':
      return acc.count === 0 ? '0' : new Decimal(acc.sum).div(acc.count).toFixed();
    case 'LATEST':
      return acc.latest === null ? '0' : new Decimal(acc.latest).toFixed();
    case 'UNIQUE_COUNT':
      return String(acc.distinct);
    case 'TIME_WEIGHTED_SUM':
      // Not additive (a late reading splits a hold): the repository recomputes it into `sum` per batch.
      return new Decimal(acc.sum).toFixed();
  }
}
