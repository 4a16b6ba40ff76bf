import { createHash } from 'node:crypto';
import type { RawUsageEvent, UsageEvent } from '@tally/contracts';
import { extractReadings, type MeterRule } from '../meters/meter-readings';

export interface NormalizeOptions {
  now: Date;
  /** Used when the event has no `time` (the broker timestamp for Kafka, the arrival time for HTTP). */
  fallbackTime: Date;
  /** Events further in the future than this are rejected (clock skew allowance). */
  maxFutureMs?: number;
  /** Events older than this are rejected: their billing period may be closed. */
  maxLatenessMs?: number;
}

export type NormalizeResult = { ok: true; event: UsageEvent } | { ok: false; errors: string[] };

/** Deterministic, so a producer retry of the same (tenant, source, id) yields the same event id. */
export function usageEventId(tenant: string, source: string, id: string): string {
  return createHash('sha256').update(`${tenant}\u0000${source}\u0000${id}`).digest('hex').slice(0, 32);
}

export function normalizeUsageEvent(raw: RawUsageEvent, tenant: string, meters: MeterRule[], options: NormalizeOptions): NormalizeResult {
  const errors: string[] = [];
  const time = raw.time ? new Date(raw.time) : options.fallbackTime;
  const maxFuture = options.maxFutureMs ?? 5 * 60_000;
  const maxLateness = options.maxLatenessMs ?? 31 * 24 * 3_600_000;
  if (time.getTime() - options.now.getTime() > maxFuture) errors.push(`time: more than ${maxFuture / 60_000} min in the future`);
  if (options.now.getTime() - time.getTime() > maxLateness) errors.push(`time: older than the maximum lateness of ${maxLateness / 3_600_000} h`);
  const data = raw.data ?? {};
  const readings = extractReadings(meters, raw.type, data);
  if (!readings.ok) errors.push(...readings.errors);
  if (errors.length > 0 || !readings.ok) return { ok: false, errors };
  return {
    ok: true,
    event: {
      eventId: usageEventId(tenant, raw.source, raw.id),
      occurredAt: time.toISOString(),
      tenant,
      id: raw.id,
      source: raw.source,
      type: raw.type,
      subject: raw.subject,
      time: time.toISOString(),
      data,
      readings: readings.readings,
    },
  };
}
