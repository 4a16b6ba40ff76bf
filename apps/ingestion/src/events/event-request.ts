import {
  acceptsRawUsageEventUnchanged,
  BATCH_MEDIA_TYPE,
  BINARY_MODE_ATTRIBUTES,
  binaryModeData,
  charsetProblem,
  firstInvalidUtf8Offset,
  INPUT_LIMITS,
  jsonPointer,
  parseMediaType,
  parseStrictJson,
  rawUsageEventSchema,
  STRUCTURED_MEDIA_TYPE,
  type RawUsageEvent,
  type UsageEvent,
} from '@tally/contracts';
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

/** Request headers as Node gives them (names lower-case, values latin1-decoded). */
export type RequestHeaders = Record<string, string | string[] | undefined>;

const SINGLE = new Set([STRUCTURED_MEDIA_TYPE, 'application/json']);

/**
 * Content type and JSON shape of a `POST /api/v1/events` body, in one of the CloudEvents HTTP binding's
 * modes:
 * - structured: a single event as an object (`application/cloudevents+json`, or `application/json`
 *   without `ce-*` headers);
 * - batched: an array (`application/cloudevents-batch+json`, or an array sent as `application/json`);
 * - binary: `ce-*` headers carry the attributes and the body is `data`, with its own content type
 *   (JSON; an empty body is an event without data).
 * The body is parsed strictly (UTF-8, nesting, NUL, surrogates, duplicate names, exact numbers: see
 * parseStrictJson), so nothing that would break later can get through and nothing can overflow the stack.
 */
export function parseEventsBody(contentType: string | undefined, body: Buffer, limits: RequestLimits, headers: RequestHeaders = {}): ParsedBody {
  const media = parseMediaType(contentType);
  const mediaType = media.type;
  if (mediaType !== STRUCTURED_MEDIA_TYPE && mediaType !== BATCH_MEDIA_TYPE && Object.keys(headers).some((h) => h.toLowerCase().startsWith('ce-'))) {
    return binaryModeBody(contentType, body, limits, headers);
  }
  if (!SINGLE.has(mediaType) && mediaType !== BATCH_MEDIA_TYPE) {
    return {
      ok: false,
      status: 415,
      detail: `content type "${mediaType || '(none)'}" is not accepted: use application/cloudevents+json, application/json or ${BATCH_MEDIA_TYPE} (or binary mode: ce-* headers with JSON data)`,
    };
  }
  const charset = charsetProblem(media);
  if (charset) return { ok: false, status: 415, detail: `content type "${contentType}": ${charset}` };
  // One level more for the array around a batch's events.
  const parsedJson = parseStrictJson(body, { maxDepth: INPUT_LIMITS.maxDepth + (firstJsonByte(body) === 0x5b /* [ */ ? 1 : 0) });
  if (!parsedJson.ok) return jsonProblem(parsedJson.error);
  const parsed = parsedJson.value;
  const batch = Array.isArray(parsed);
  if (mediaType === BATCH_MEDIA_TYPE && !batch) return { ok: false, status: 400, detail: 'a batch must be a JSON array', errors: [{ pointer: '', detail: 'must be an array of events' }] };
  if (!batch && (parsed === null || typeof parsed !== 'object')) {
    return { ok: false, status: 400, detail: 'an event must be a JSON object', errors: [{ pointer: '', detail: 'must be an object' }] };
  }
  const items = batch ? (parsed as unknown[]) : [parsed];
  if (batch && items.length === 0) return { ok: false, status: 400, detail: 'the batch is empty', errors: [{ pointer: '', detail: 'must contain at least one event' }] };
  if (items.length > limits.maxBatchEvents) {
    return { ok: false, status: 413, detail: `the batch has ${items.length} events; at most ${limits.maxBatchEvents} are accepted per request` };
  }
  return sizeChecked(items, batch, limits);
}

/** The first byte after JSON whitespace and a UTF-8 BOM. */
function firstJsonByte(body: Buffer): number | undefined {
  let i = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09) i++;
  return body[i];
}

function jsonProblem(error: { kind: 'encoding' | 'syntax' | 'limit'; pointer: string; detail: string }): ParsedBody {
  const detail =
    error.kind === 'encoding' ? 'the body is not UTF-8' : error.kind === 'syntax' ? 'the body is not valid JSON' : 'the body breaks an input limit';
  return { ok: false, status: 400, detail, errors: [{ pointer: error.pointer, detail: error.detail }] };
}

function sizeChecked(items: unknown[], batch: boolean, limits: RequestLimits): ParsedBody {
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
 * Binary mode: `ce-<attribute>` headers (`ce-tenant` is the tenant extension, checked against the key's
 * tenant; other extensions are ignored), `content-type` is `datacontenttype`, the body is `data`.
 */
function binaryModeBody(contentType: string | undefined, body: Buffer, limits: RequestLimits, headers: RequestHeaders): ParsedBody {
  const event: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const attribute of BINARY_MODE_ATTRIBUTES) {
    const raw = headers[`ce-${attribute}`];
    if (raw === undefined) continue;
    const decoded = httpHeaderText(Array.isArray(raw) ? raw.join(', ') : raw);
    if (decoded.ok) event[attribute] = decoded.text;
    else errors.push({ pointer: `/${attribute}`, detail: `the ce-${attribute} header ${decoded.why}` });
  }
  if (errors.length > 0) return { ok: false, status: 400, detail: `${errors.length} invalid field(s)`, errors };
  if (contentType !== undefined && contentType !== '') event.datacontenttype = contentType;
  const data = binaryModeData(contentType, body);
  if (!data.ok) {
    return {
      ok: false,
      status: data.error.status,
      detail: data.error.status === 415 ? 'binary-mode data must be JSON' : 'the data (body) is not acceptable',
      errors: [{ pointer: data.error.pointer, detail: data.error.detail }],
    };
  }
  if (data.data !== undefined) event.data = data.data;
  return sizeChecked([event], false, limits);
}

/**
 * A binary-mode header value. The HTTP binding percent-encodes what is not printable ASCII (as UTF-8
 * bytes); Node hands the raw header bytes over as latin1 characters, so raw UTF-8 (sent by clients that do
 * not encode) is read too. Either way the bytes must be UTF-8. A '%' not followed by two hex digits is kept.
 */
export function httpHeaderText(latin1: string): { ok: true; text: string } | { ok: false; why: string } {
  const raw = Buffer.from(latin1, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x25 /* % */ && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(raw[i + 1], raw[i + 2]), 16));
      i += 2;
    } else {
      bytes.push(b);
    }
  }
  const decoded = Buffer.from(bytes);
  const bad = firstInvalidUtf8Offset(decoded);
  if (bad >= 0) return { ok: false, why: `is not UTF-8 (byte 0x${decoded[bad].toString(16).padStart(2, '0')} at offset ${bad}, after percent-decoding)` };
  return { ok: true, text: decoded.toString('utf8') };
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
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
    // The fast check says yes only to what the schema returns unchanged; every refusal is the schema's.
    const result = acceptsRawUsageEventUnchanged(item) ? { success: true as const, data: item as RawUsageEvent } : rawUsageEventSchema.safeParse(item);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const detail = issue.code === 'invalid_type' && issue.received === 'undefined' ? 'is required' : issue.message;
        errors.push({ pointer: `${batch ? `/${index}` : ''}${jsonPointer(issue.path)}`, detail });
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
