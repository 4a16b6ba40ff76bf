import { rawUsageEventSchema, type UsageEvent } from '@tally/contracts';
import type { MeterRule } from '../meters/meter-readings';
import { normalizeUsageEvent } from '../raw-events/normalize-usage-event';

export interface FieldError {
  pointer: string;
  detail: string;
}

export interface RequestLimits {
  maxEventBytes: number;
  maxBatchEvents: number;
  maxLatenessMs: number;
  maxFutureMs: number;
}

export type ParsedBody = { ok: true; items: unknown[]; batch: boolean } | { ok: false; status: 400 | 413 | 415; detail: string; errors?: FieldError[] };

const SINGLE = new Set(['application/cloudevents+json', 'application/json']);
const BATCH = 'application/cloudevents-batch+json';

/**
 * Content type and JSON shape of a `POST /api/v1/events` body. A single event is an object
 * (`application/cloudevents+json` or `application/json`); a batch is an array
 * (`application/cloudevents-batch+json`, or an array sent as `application/json`).
 */
export function parseEventsBody(contentType: string | undefined, body: Buffer, limits: RequestLimits): ParsedBody {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!SINGLE.has(mediaType) && mediaType !== BATCH) {
    return {
      ok: false,
      status: 415,
      detail: `content type "${mediaType || '(none)'}" is not accepted: use application/cloudevents+json, application/json or ${BATCH}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return { ok: false, status: 400, detail: 'the body is not valid JSON', errors: [{ pointer: '', detail: (e as Error).message }] };
  }
  const batch = Array.isArray(parsed);
  if (mediaType === BATCH && !batch) return { ok: false, status: 400, detail: 'a batch must be a JSON array', errors: [{ pointer: '', detail: 'must be an array of events' }] };
  if (!batch && (parsed === null || typeof parsed !== 'object')) {
    return { ok: false, status: 400, detail: 'an event must be a JSON object', errors: [{ pointer: '', detail: 'must be an object' }] };
  }
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (batch && items.length === 0) return { ok: false, status: 400, detail: 'the batch is empty', errors: [{ pointer: '', detail: 'must contain at least one event' }] };
  if (items.length > limits.maxBatchEvents) {
    return { ok: false, status: 413, detail: `the batch has ${items.length} events; at most ${limits.maxBatchEvents} are accepted per request` };
  }
  const tooLarge = items
    .map((item, i) => ({ i, size: Buffer.byteLength(JSON.stringify(item) ?? '') }))
    .filter((x) => x.size > limits.maxEventBytes);
  if (tooLarge.length > 0) {
    return {
      ok: false,
      status: 413,
      detail: `events over the limit of ${limits.maxEventBytes} bytes`,
      errors: tooLarge.map((x) => ({ pointer: batch ? `/${x.i}` : '', detail: `event is ${x.size} bytes` })),
    };
  }
  return { ok: true, items, batch };
}

/**
 * Validates every event of a request and normalizes them. All-or-nothing: any bad event makes the
 * request a 400 naming each bad field by JSON Pointer (`/3/time` is the time of the fourth event).
 */
export function validateEvents(
  items: unknown[],
  batch: boolean,
  tenant: string,
  meters: MeterRule[],
  now: Date,
  limits: RequestLimits,
): { ok: true; events: UsageEvent[] } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const events: UsageEvent[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const at = (field: string) => `${batch ? `/${index}` : ''}${field ? `/${field}` : ''}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ pointer: at(''), detail: 'must be an object' });
      return;
    }
    const result = rawUsageEventSchema.safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const detail = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
        errors.push({ pointer: at(issue.path.join('/')), detail });
      }
      return;
    }
    const raw = result.data;
    if (raw.tenant !== undefined && raw.tenant !== tenant) {
      errors.push({ pointer: at('tenant'), detail: "must be the API key's tenant (or left out)" });
      return;
    }
    const duplicateOf = seen.get(`${raw.source}\u0000${raw.id}`);
    if (duplicateOf !== undefined) {
      errors.push({ pointer: at('id'), detail: `duplicates event ${duplicateOf} (same id and source) in this batch` });
      return;
    }
    seen.set(`${raw.source}\u0000${raw.id}`, index);
    const normalized = normalizeUsageEvent(raw, tenant, meters, {
      now,
      fallbackTime: now,
      maxFutureMs: limits.maxFutureMs,
      maxLatenessMs: limits.maxLatenessMs,
    });
    if (!normalized.ok) {
      for (const message of normalized.errors) {
        const [field, ...rest] = message.split(': ');
        errors.push({ pointer: at(field), detail: rest.join(': ') });
      }
      return;
    }
    events.push(normalized.event);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, events };
}
