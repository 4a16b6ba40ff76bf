import { Decimal as BaseDecimal } from 'decimal.js';

const Decimal = BaseDecimal.clone({ precision: 60 });
type Decimal = BaseDecimal;

const HOUR_MS = 3_600_000;
/** Held value x hours rarely terminates (1 GB for 1 minute = 0.01666... GB-h): reported to 18 decimals, half up. */
export const TIME_WEIGHTED_DECIMALS = 18;

/** One gauge reading. `series` tells apart values held side by side (the group-by values, e.g. a region). */
export interface GaugeReading {
  time: Date;
  value: string;
  series: string;
  /** Breaks ties between readings at the same instant: the one ordered last is the value held on. */
  order?: string;
}

/**
 * Value x hours held within `window`, summed over series: each reading holds until the next reading of its
 * series, or to the window's end. The value held when the window opens is the series' last reading
 * before it, so callers pass that reading too (earlier ones change nothing). Before a series' first
 * reading nothing is held. Readings at or after the window's end change nothing. Times count to the
 * millisecond; the sum is rounded once, to TIME_WEIGHTED_DECIMALS.
 */
export function timeWeightedSum(readings: readonly GaugeReading[], window: { start: Date; end: Date }): Decimal {
  const bySeries = new Map<string, GaugeReading[]>();
  for (const r of readings) {
    if (r.time >= window.end) continue;
    const list = bySeries.get(r.series);
    if (list) list.push(r);
    else bySeries.set(r.series, [r]);
  }
  const start = window.start.getTime();
  const end = window.end.getTime();
  let valueMs = new Decimal(0);
  for (const list of bySeries.values()) {
    // Ties by plain code-unit order, as the SQL side orders `event_id COLLATE "C"`: both must agree on which reading holds.
    list.sort((a, b) => a.time.getTime() - b.time.getTime() || byCodeUnits(a.order ?? '', b.order ?? ''));
    for (let i = 0; i < list.length; i++) {
      const from = Math.max(list[i].time.getTime(), start);
      const to = Math.min(i + 1 < list.length ? list[i + 1].time.getTime() : end, end);
      if (to <= from) continue;
      valueMs = valueMs.plus(new Decimal(list[i].value).times(to - from));
    }
  }
  return valueMs.div(HOUR_MS).toDecimalPlaces(TIME_WEIGHTED_DECIMALS, Decimal.ROUND_HALF_UP);
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
