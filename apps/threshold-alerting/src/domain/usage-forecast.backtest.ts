import { Decimal } from 'decimal.js';
import { DAY_MS, forecastUsage, type DayUsage } from './usage-forecast';

/**
 * Backtest of `forecastUsage` on synthetic daily series against the plain run-rate. Pure and seeded: the
 * same seed gives the same table. Run it with
 * `node -r ./tools/register.js apps/threshold-alerting/src/domain/usage-forecast.backtest.ts [--series=200] [--seed=42]`.
 */

export const SERIES_KINDS = ['steady', 'growing', 'spiky', 'seasonal'] as const;
export type SeriesKind = (typeof SERIES_KINDS)[number];
export const CHECKPOINTS = [0.25, 0.5, 0.75] as const;
export const PERIOD_DAYS = 30;

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Daily usage of one period of `PERIOD_DAYS` days. Noise is ±15 % uniform on every kind. */
export function syntheticSeries(kind: SeriesKind, random: () => number): number[] {
  const base = 500 + random() * 1500;
  const noise = () => 1 + (random() - 0.5) * 0.3;
  const firstWeekday = Math.floor(random() * 7);
  const growth = 1 + random() * 3; // the last day is 2× to 4× the first
  return Array.from({ length: PERIOD_DAYS }, (_, d) => {
    switch (kind) {
      case 'steady':
        return base * noise();
      case 'growing':
        return base * (1 + ((growth - 1) * d) / (PERIOD_DAYS - 1)) * noise();
      case 'spiky':
        // One day in ten a burst of 4× to 10× the usual day.
        return base * noise() * (random() < 0.1 ? 4 + random() * 6 : 1);
      case 'seasonal': {
        const weekday = (firstWeekday + d) % 7;
        return base * (weekday >= 5 ? 0.3 : 1.3) * noise();
      }
    }
  });
}

export interface Projections {
  actual: number;
  forecast: number;
  runRate: number;
}

/** Both projections of a series' period end at `fraction` of the period (usage of the current day pro rata). */
export function projectAt(series: number[], fraction: number, startMs = Date.UTC(2026, 0, 1)): Projections {
  const endMs = startMs + series.length * DAY_MS;
  const nowMs = startMs + Math.round(fraction * series.length * DAY_MS);
  const complete = Math.floor((nowMs - startMs) / DAY_MS);
  const days: DayUsage[] = series.slice(0, complete).map((v, d) => ({ startMs: startMs + d * DAY_MS, endMs: startMs + (d + 1) * DAY_MS, value: v.toFixed(6) }));
  const partial = complete < series.length ? (series[complete] * (nowMs - startMs - complete * DAY_MS)) / DAY_MS : 0;
  const usage = days.reduce((a, d) => a.plus(d.value), new Decimal(0)).plus(partial.toFixed(6));
  const forecast = forecastUsage({ usage: usage.toFixed(), periodStartMs: startMs, periodEndMs: endMs, nowMs, days });
  if (!forecast) throw new Error(`no forecast at ${fraction} of the period`);
  return { actual: series.reduce((a, v) => a + v, 0), forecast: Number(forecast.projected), runRate: Number(forecast.runRate) };
}

export interface BacktestRow {
  kind: SeriesKind;
  fraction: number;
  /** Mean absolute percentage error of the period-end projection, in percent. */
  forecastMape: number;
  runRateMape: number;
}

/** MAPE of both methods per series kind and checkpoint, over `count` seeded series of each kind. */
export function backtest(count: number, seed: number): BacktestRow[] {
  const rows: BacktestRow[] = [];
  SERIES_KINDS.forEach((kind, k) => {
    const random = prng(seed + k * 7919);
    const series = Array.from({ length: count }, () => syntheticSeries(kind, random));
    for (const fraction of CHECKPOINTS) {
      let f = 0;
      let r = 0;
      for (const s of series) {
        const p = projectAt(s, fraction);
        f += Math.abs(p.forecast - p.actual) / p.actual;
        r += Math.abs(p.runRate - p.actual) / p.actual;
      }
      rows.push({ kind, fraction, forecastMape: (100 * f) / count, runRateMape: (100 * r) / count });
    }
  });
  return rows;
}

/** The README's table. */
export function backtestTable(rows: BacktestRow[]): string {
  const lines = ['| series | at | forecast MAPE | run-rate MAPE |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.kind} | ${r.fraction * 100} % | ${r.forecastMape.toFixed(2)} % | ${r.runRateMape.toFixed(2)} % |`);
  return lines.join('\n');
}

if (require.main === module) {
  const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
  const count = arg('series', 200);
  const seed = arg('seed', 42);
  console.log(`${count} series of ${PERIOD_DAYS} days per kind, seed ${seed}\n`);
  console.log(backtestTable(backtest(count, seed)));
}
