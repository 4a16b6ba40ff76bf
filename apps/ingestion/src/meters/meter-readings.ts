import { decimalStringProblem, INPUT_LIMITS, attributeProblem, jsonNumberProblem, type Aggregation, type MeterReading } from '@tally/contracts';
import { readJsonPath } from './json-path';

export interface MeterRule {
  slug: string;
  eventType: string;
  aggregation: Aggregation;
  valueProperty: string | null;
  groupBy: Record<string, string>;
  /** Negative values are refused unless the meter allows them (default false). */
  allowNegative?: boolean;
}

const NUMERIC: ReadonlySet<Aggregation> = new Set(['SUM', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM']);

export type ReadingsResult = { ok: true; readings: MeterReading[] } | { ok: false; errors: string[] };

/**
 * What one event contributes to each meter of its type. A numeric meter whose value is missing or not a
 * number makes the event invalid (it would otherwise be silently counted as zero), and so does a negative
 * value for a meter that does not allow them, or a value that could not be stored exactly downstream.
 * Numbers arrive exact (the strict JSON parser refuses literals a double does not hold); larger or more
 * precise values come as decimal strings, kept as written.
 */
export function extractReadings(meters: MeterRule[], eventType: string, data: Record<string, unknown>): ReadingsResult {
  const readings: MeterReading[] = [];
  const errors: string[] = [];
  for (const meter of meters) {
    if (meter.eventType !== eventType) continue;
    const groupBy: Record<string, string> = {};
    for (const [name, path] of Object.entries(meter.groupBy)) {
      const v = readJsonPath({ ...data }, path.replace(/^\$\.data(?=[.[])/, '$'));
      if (v === undefined || v === null) continue;
      if (typeof v === 'object') {
        errors.push(`data: meter "${meter.slug}" groups by "${name}", which needs a string, number or boolean at ${path} (found ${Array.isArray(v) ? 'an array' : 'an object'})`);
        continue;
      }
      const text = String(v);
      const problem = attributeProblem(text, INPUT_LIMITS.groupByValueBytes);
      if (problem) errors.push(`data: meter "${meter.slug}" groups by "${name}": the value at ${path} ${problem}`);
      else groupBy[name] = text;
    }
    if (meter.aggregation === 'COUNT') {
      readings.push({ meter: meter.slug, aggregation: 'COUNT', value: null, groupBy });
      continue;
    }
    const path = (meter.valueProperty ?? '').replace(/^\$\.data(?=[.[])/, '$');
    const raw = path ? readJsonPath(data, path) : undefined;
    if (meter.aggregation === 'UNIQUE_COUNT') {
      if (raw === undefined || raw === null || typeof raw === 'object') {
        errors.push(`data: meter "${meter.slug}" needs a string or number at ${meter.valueProperty}`);
        continue;
      }
      const problem = attributeProblem(String(raw), INPUT_LIMITS.uniqueValueBytes);
      if (problem) errors.push(`data: meter "${meter.slug}": the value at ${meter.valueProperty} ${problem}`);
      else readings.push({ meter: meter.slug, aggregation: 'UNIQUE_COUNT', value: String(raw), groupBy });
      continue;
    }
    if (NUMERIC.has(meter.aggregation)) {
      const value = numericValue(raw);
      if (!value.ok) {
        errors.push(`data: meter "${meter.slug}" needs a number at ${meter.valueProperty}${value.why ? `: ${value.why}` : ''}`);
      } else if (value.negative && !meter.allowNegative) {
        errors.push(`data: meter "${meter.slug}" does not allow negative values (${value.text} at ${meter.valueProperty})`);
      } else {
        readings.push({ meter: meter.slug, aggregation: meter.aggregation, value: value.text, groupBy });
      }
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, readings };
}

type NumericValue = { ok: true; text: string; negative: boolean } | { ok: false; why?: string };

/** A JSON number, or a decimal string within INPUT_LIMITS; -0 is not negative. */
function numericValue(raw: unknown): NumericValue {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false };
    // The strict parser already refused these; a value built another way is checked the same.
    const inexact = Number.isInteger(raw) ? jsonNumberProblem(String(raw)) : undefined;
    if (inexact) return { ok: false, why: inexact };
    return { ok: true, text: String(raw), negative: raw < 0 };
  }
  if (typeof raw !== 'string') return { ok: false };
  const text = raw.trim();
  const problem = decimalStringProblem(text);
  if (problem) return { ok: false, why: /^-?\d+(\.\d+)?$/.test(text) ? `"${text.slice(0, 60)}" ${problem}` : undefined };
  return { ok: true, text, negative: text.startsWith('-') && /[1-9]/.test(text) };
}
