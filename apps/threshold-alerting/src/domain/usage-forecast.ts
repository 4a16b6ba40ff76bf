import { Decimal } from 'decimal.js';

export const DAY_MS = 86_400_000;

/** Minimum data before forecasting: a period's first days (or one burst of them) say little about its end. */
export const FORECAST_MIN_ELAPSED_DAYS = 3;
export const FORECAST_MIN_DAYS_WITH_DATA = 2;
/** Only the days that started within this many days before now count (the trend is recent; storage reads no more). */
export const FORECAST_HISTORY_DAYS = 29;
/** The recent level is the mean of the last one or two whole weeks, so a weekday/weekend rhythm cancels out. */
const WEEK = 7;
/** Weight of the trend projection in the blend once more than a week of complete days is known (0 before). */
export const FORECAST_TREND_WEIGHT = 0.75;

/** One UTC day's usage (a DAY aggregate): [start, end). */
export interface DayUsage {
  startMs: number;
  endMs: number;
  value: string;
}

export interface ForecastInput {
  /** The period's usage so far (the PERIOD aggregate). */
  usage: string;
  periodStartMs: number;
  periodEndMs: number;
  nowMs: number;
  /** DAY aggregates; those not wholly inside [period start, now] are ignored. */
  days: DayUsage[];
}

export interface Forecast {
  /** Projected period-end usage (6 decimal places). */
  projected: string;
  /** The plain run-rate projection it was blended from (usage ÷ elapsed share). */
  runRate: string;
  /** The trend projection it was blended from: usage + the recent level and slope carried to the period end. */
  trend: string;
  /** Weight of `trend` in `projected`: 0 or FORECAST_TREND_WEIGHT. */
  trendWeight: number;
}

/**
 * Projects the period-end usage of an additive meter from the period so far: the run-rate blended with the
 * recent daily trend of the complete UTC days inside the period that started within the last 29 days (days
 * without a DAY aggregate count as 0 from the first day with one).
 *
 * - run-rate R = usage × length ÷ elapsed.
 * - level L = mean of the last 14 complete days (the last 7 with 7 to 13, all of them with fewer); with whole
 *   weeks, each weekday keeps its offset from L (a quiet weekend stays quiet).
 * - slope b per day = the median of the slopes between the same weekday one week apart (Theil–Sen: robust to
 *   bursts and blind to the weekly rhythm), shrunk by b² ÷ (b² + (2·se)²) towards 0 (a slope within its
 *   noise would swing a steady meter's forecast); 0 before 8 complete days.
 * - trend T = usage + Σ over the rest of the period, day by day, of L + weekday offset + b × days from the
 *   middle of the level window (never less than usage).
 * - projected = 0.75·T + 0.25·R from 8 complete days on; R alone before (no trend can be told from less than
 *   a week with a weekly rhythm).
 *
 * Null (no forecast) before the minimum of data — 3 days elapsed and 2 complete days with usage (a DAY
 * aggregate other than 0) — and for a meter that is evidently not additive: when the complete days sum to
 * more than the period's usage (a MAX or LATEST meter's period value is not the sum of its days).
 * At or after the period end, the usage itself. The backtest (`usage-forecast.backtest.ts`) measures it.
 */
export function forecastUsage(input: ForecastInput): Forecast | null {
  const { periodStartMs: start, periodEndMs: end, nowMs } = input;
  const length = end - start;
  if (!(length > 0)) return null;
  const usage = new Decimal(input.usage);
  if (nowMs >= end) return { projected: usage.toFixed(), runRate: usage.toFixed(), trend: usage.toFixed(), trendWeight: 0 };
  const elapsed = nowMs - start;
  if (elapsed < FORECAST_MIN_ELAPSED_DAYS * DAY_MS) return null;

  // Complete days inside the period, one per start (the caller keeps the newest version), oldest first.
  const byStart = new Map<number, DayUsage>();
  const from = Math.max(start, nowMs - FORECAST_HISTORY_DAYS * DAY_MS);
  for (const d of input.days) if (d.startMs >= from && d.endMs <= nowMs && d.endMs > d.startMs) byStart.set(d.startMs, d);
  const days = [...byStart.values()].sort((a, b) => a.startMs - b.startMs);
  const values = days.map((d) => new Decimal(d.value));
  if (values.filter((v) => !v.isZero()).length < FORECAST_MIN_DAYS_WITH_DATA) return null;
  if (values.reduce((a, v) => a.plus(v), new Decimal(0)).gt(usage)) return null;

  const runRate = usage.mul(length).div(elapsed);

  // Days between the first complete day and now with no DAY aggregate had no usage: 0.
  const firstDay = days[0].startMs;
  const n = Math.floor((nowMs - firstDay) / DAY_MS);
  const series: Decimal[] = Array.from({ length: n }, () => new Decimal(0));
  days.forEach((d, i) => {
    const at = Math.floor((d.startMs - firstDay) / DAY_MS);
    if (at < n) series[at] = series[at].plus(values[i]);
  });
  // Whole weeks where there are (a weekday/weekend rhythm cancels out), the days known otherwise.
  const levelDays = series.slice(n >= 2 * WEEK ? -2 * WEEK : n >= WEEK ? -WEEK : 0);
  const level = mean(levelDays);
  // Same weekday one week apart: robust to bursts and to the weekly rhythm.
  const slope = n > WEEK ? shrunkMedianSlope(series, WEEK) : new Decimal(0);

  const lastCompleteEnd = firstDay + n * DAY_MS;
  const levelMiddle = lastCompleteEnd - (levelDays.length * DAY_MS) / 2;
  const daysFromMiddle = (ms: number) => (ms - levelMiddle) / DAY_MS;
  // With whole weeks of level, each weekday keeps its offset from the level and slope (a quiet weekend stays quiet).
  const wholeWeeks = levelDays.length % WEEK === 0;
  const firstLevel = n - levelDays.length;
  const offsets = Array.from({ length: WEEK }, (_, dow) => {
    if (!wholeWeeks) return new Decimal(0);
    const residuals = levelDays.flatMap((y, i) => {
      const index = firstLevel + i;
      return index % WEEK === dow ? [y.minus(level).minus(slope.mul(daysFromMiddle(firstDay + (index + 0.5) * DAY_MS)))] : [];
    });
    return mean(residuals);
  });
  // The rest of the period, day by day (the first and last may be partial): level + weekday offset + slope ×
  // days from the middle of the level window (linear within a day, so its middle gives the integral).
  let rest = new Decimal(0);
  for (let a = nowMs; a < end; ) {
    const index = Math.floor((a - firstDay) / DAY_MS);
    const b = Math.min(end, firstDay + (index + 1) * DAY_MS);
    rest = rest.plus(level.plus(offsets[index % WEEK]).plus(slope.mul(daysFromMiddle((a + b) / 2))).mul((b - a) / DAY_MS));
    a = b;
  }
  const trend = usage.plus(Decimal.max(0, rest));

  // Before a week of complete days no trend can be told from a weekly rhythm: the run-rate alone.
  const weight = n > WEEK ? FORECAST_TREND_WEIGHT : 0;
  const projected = trend.mul(weight).plus(runRate.mul(1 - weight));
  return { projected: round(projected), runRate: round(runRate), trend: round(trend), trendWeight: weight };
}

/** The forecast alert's decision for one customer-meter, from the forecast and whether it is armed. */
export type ForecastDecision = 'fire' | 'rearm' | 'none';

/** Actual usage at or above this share of included makes a forecast alert late: the percent alerts speak then. */
export const FORECAST_MAX_ACTUAL_PERCENT = 90;

/**
 * Fires when the projection reaches 100 % of included while actual usage is still below 90 % and the forecast
 * is armed (not active); re-arms an active one when the projection falls back below 100 %. No forecast (too
 * little data) changes nothing; with nothing included there is no 100 % to forecast.
 */
export function decideForecast(projected: string | null, usage: string, included: string, active: boolean): ForecastDecision {
  const inc = new Decimal(included);
  if (projected === null || inc.lte(0)) return 'none';
  const reaches = new Decimal(projected).gte(inc);
  if (active) return reaches ? 'none' : 'rearm';
  return reaches && new Decimal(usage).lt(inc.mul(FORECAST_MAX_ACTUAL_PERCENT).div(100)) ? 'fire' : 'none';
}

/** The id of the forecast threshold in the fired state (one per customer, meter and period). */
export const FORECAST_THRESHOLD_ID = 'forecast:100';

function mean(values: Decimal[]): Decimal {
  return values.reduce((a, v) => a.plus(v), new Decimal(0)).div(values.length);
}

/**
 * The median of the slopes between days `gap` apart (Theil–Sen), shrunk towards 0 by b² ÷ (b² + se²), se the
 * median's standard error estimated from the slopes' spread (1.4826 × MAD × 1.2533 ÷ √k): a slope within its
 * own noise is mostly noise, and carried over the rest of the period it would swing a steady meter's forecast.
 */
function shrunkMedianSlope(values: Decimal[], gap: number): Decimal {
  const slopes: Decimal[] = [];
  for (let i = 0; i + gap < values.length; i++) slopes.push(values[i + gap].minus(values[i]).div(gap));
  if (slopes.length === 0) return new Decimal(0);
  const b = median(slopes);
  const mad = median(slopes.map((x) => x.minus(b).abs()));
  const se = mad.mul(1.4826 * 1.2533).div(Math.sqrt(slopes.length));
  const b2 = b.pow(2);
  return b2.isZero() ? b2 : b.mul(b2).div(b2.plus(se.mul(2).pow(2)));
}

function median(values: Decimal[]): Decimal {
  const sorted = [...values].sort((a, b) => a.comparedTo(b));
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : sorted[mid - 1].plus(sorted[mid]).div(2);
}

const round = (d: Decimal): string => d.toDecimalPlaces(6).toFixed();
