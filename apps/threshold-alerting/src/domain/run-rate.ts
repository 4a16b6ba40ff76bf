import { Decimal } from 'decimal.js';

const DAY_MS = 86_400_000;

/**
 * Period-end usage if the rest of the period goes on at the average rate so far: usage ÷ (elapsed ÷ length),
 * to 6 decimal places. Null before a day (or the whole period, if shorter) has passed: a few minutes of a
 * month say nothing about its end. At or after the end, the usage itself.
 */
export function projectRunRate(usage: Decimal | string, startMs: number, endMs: number, nowMs: number): string | null {
  const length = endMs - startMs;
  const elapsed = Math.min(nowMs, endMs) - startMs;
  if (length <= 0 || elapsed < Math.min(DAY_MS, length)) return null;
  const used = new Decimal(usage);
  if (elapsed >= length) return used.toFixed();
  return used.mul(length).div(elapsed).toDecimalPlaces(6).toFixed();
}
