import type { Aggregation, MeterReading } from '@tally/contracts';
import { readJsonPath } from './json-path';

export interface MeterRule {
  slug: string;
  eventType: string;
  aggregation: Aggregation;
  valueProperty: string | null;
  groupBy: Record<string, string>;
}

const NUMERIC: ReadonlySet<Aggregation> = new Set(['SUM', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM']);

export type ReadingsResult = { ok: true; readings: MeterReading[] } | { ok: false; errors: string[] };

/**
 * What one event contributes to each meter of its type. A numeric meter whose value is missing or not a
 * number makes the event invalid (it would otherwise be silently counted as zero).
 */
export function extractReadings(meters: MeterRule[], eventType: string, data: Record<string, unknown>): ReadingsResult {
  const readings: MeterReading[] = [];
  const errors: string[] = [];
  for (const meter of meters) {
    if (meter.eventType !== eventType) continue;
    const groupBy: Record<string, string> = {};
    for (const [name, path] of Object.entries(meter.groupBy)) {
      const v = readJsonPath({ ...data }, path.replace(/^\$\.data(?=[.[])/, '$'));
      if (v !== undefined && v !== null) groupBy[name] = String(v);
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
      } else {
        readings.push({ meter: meter.slug, aggregation: 'UNIQUE_COUNT', value: String(raw), groupBy });
      }
      continue;
    }
    if (NUMERIC.has(meter.aggregation)) {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isFinite(value)) {
        errors.push(`data: meter "${meter.slug}" needs a number at ${meter.valueProperty}`);
      } else {
        readings.push({ meter: meter.slug, aggregation: meter.aggregation, value: typeof raw === 'string' ? raw.trim() : String(raw), groupBy });
      }
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, readings };
}
