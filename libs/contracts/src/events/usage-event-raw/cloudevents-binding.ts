import { isUtf8 } from 'node:buffer';
import { INPUT_LIMITS } from './input-limits';
import { parseStrictJson, type JsonInputError } from './strict-json';

/**
 * The CloudEvents protocol bindings for usage events (https://github.com/cloudevents/spec, HTTP and Kafka
 * protocol bindings 1.0): in structured mode the message is the whole event as JSON; in binary mode the
 * attributes travel as headers (`ce-id` over HTTP, `ce_id` on Kafka), the body is `data`, and the
 * `content-type` header is `datacontenttype`. Meters read properties of `data`, so binary data must be JSON.
 */

/** The attributes a usage event reads from binary-mode headers; other `ce` headers are ignored. */
export const BINARY_MODE_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'tenant'] as const;

export const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';
export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';

export interface BindingError extends Omit<JsonInputError, 'kind'> {
  /** 415 for a content type or charset ingestion does not read; 400 for the rest. */
  status: 400 | 415;
}

export interface MediaType {
  /** Lower-case `type/subtype` without parameters; '' when absent. */
  type: string;
  charset?: string;
}

export function parseMediaType(contentType: string | undefined): MediaType {
  const [type, ...params] = (contentType ?? '').split(';');
  const charset = params
    .map((p) => p.trim().split('='))
    .find(([k]) => k?.trim().toLowerCase() === 'charset')?.[1]
    ?.trim()
    .replace(/^"|"$/g, '')
    .toLowerCase();
  return { type: type.trim().toLowerCase(), ...(charset ? { charset } : {}) };
}

/** `application/json`, `text/json` and any `+json` structured-syntax suffix. */
export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || type === 'text/json' || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
}

/** Only UTF-8 (and its subset US-ASCII) is read; JSON text exchanged between systems is UTF-8 (RFC 8259). */
export function charsetProblem(media: MediaType): string | undefined {
  if (media.charset === undefined || media.charset === 'utf-8' || media.charset === 'utf8' || media.charset === 'us-ascii') return undefined;
  return `charset "${media.charset}" is not supported: send UTF-8`;
}

/**
 * `data` of a binary-mode event from the body and its content type: absent for an empty body (an event
 * only COUNT meters read), otherwise a JSON object parsed within the input limits (`data` is level 2 of the
 * event). A missing content type is taken as JSON.
 */
export function binaryModeData(contentType: string | undefined, body: Buffer): { ok: true; data?: Record<string, unknown> } | { ok: false; error: BindingError } {
  if (body.length === 0) return { ok: true };
  const media = parseMediaType(contentType);
  if (media.type !== '' && !isJsonMediaType(media.type)) {
    return {
      ok: false,
      error: { status: 415, pointer: '/datacontenttype', detail: `data of content type "${media.type}" is not accepted: meters read JSON data (application/json or a +json type)` },
    };
  }
  const charset = charsetProblem(media);
  if (charset) return { ok: false, error: { status: 415, pointer: '/datacontenttype', detail: charset } };
  const parsed = parseStrictJson(body, { maxDepth: INPUT_LIMITS.maxDepth - 1, pointerPrefix: '/data' });
  if (!parsed.ok) return { ok: false, error: { status: 400, pointer: parsed.error.pointer, detail: parsed.error.detail } };
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    return { ok: false, error: { status: 400, pointer: '/data', detail: 'must be a JSON object (meters read its properties)' } };
  }
  return { ok: true, data: parsed.value as Record<string, unknown> };
}

/** Thrown by the Kafka decoder: the message is dead-lettered with this message as the reason. */
export class UndecodableEventError extends Error {}

const KAFKA_ATTRIBUTE_HEADER = /^ce_/i;

/**
 * The `usage.events.raw.v1` decoder (TOPIC_DECODERS): a message's value and headers to the event the
 * schema checks, per the CloudEvents Kafka protocol binding.
 * - `content-type: application/cloudevents+json` (any charset parameter must be UTF-8): structured mode.
 * - any `ce_*` header otherwise: binary mode; `ce_specversion`, `ce_id`, `ce_source`, `ce_type`,
 *   `ce_subject`, `ce_time`, `ce_tenant` are attributes, `content-type` (or `ce_datacontenttype`) is
 *   `datacontenttype`, the value is `data`.
 * - neither: the value is a structured event written as plain JSON (the original raw-topic format).
 * Header values must be UTF-8 (the binding says so); batched mode does not exist on Kafka.
 * Throws UndecodableEventError with the reason for the dead letter.
 */
export function decodeRawUsageEventMessage(value: Buffer | null, headers: Record<string, unknown>): unknown {
  const byName = new Map<string, string>();
  for (const [name, raw] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'content-type' && !KAFKA_ATTRIBUTE_HEADER.test(lower)) continue;
    byName.set(lower, headerText(name, raw));
  }
  const body = value ?? Buffer.alloc(0);
  const media = parseMediaType(byName.get('content-type'));
  if (media.type.startsWith('application/cloudevents-batch')) {
    throw new UndecodableEventError(`content-type ${media.type}: batched mode is not defined for Kafka; send one event per message`);
  }
  const binary = !media.type.startsWith('application/cloudevents') && [...byName.keys()].some((k) => k.startsWith('ce_'));
  if (!binary) {
    if (media.type !== '' && !media.type.startsWith('application/cloudevents') && !isJsonMediaType(media.type)) {
      throw new UndecodableEventError(`content-type ${media.type}: a structured event must be JSON (${STRUCTURED_MEDIA_TYPE}); binary mode needs ce_* headers`);
    }
    if (media.type.startsWith('application/cloudevents') && media.type !== STRUCTURED_MEDIA_TYPE) {
      throw new UndecodableEventError(`content-type ${media.type}: only the JSON event format (${STRUCTURED_MEDIA_TYPE}) is read`);
    }
    const charset = charsetProblem(media);
    if (charset) throw new UndecodableEventError(`content-type: ${charset}`);
    if (body.length === 0) throw new UndecodableEventError('empty message value (a structured event is a JSON object)');
    const parsed = parseStrictJson(body, { maxDepth: INPUT_LIMITS.maxDepth });
    if (!parsed.ok) throw new UndecodableEventError(`${parsed.error.pointer || '(value)'}: ${parsed.error.detail}`);
    if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
      throw new UndecodableEventError('(value): a structured event must be a JSON object');
    }
    return parsed.value;
  }
  const event: Record<string, unknown> = {};
  for (const attribute of BINARY_MODE_ATTRIBUTES) {
    const v = byName.get(`ce_${attribute}`);
    if (v !== undefined) event[attribute] = v;
  }
  const contentType = byName.get('content-type') ?? byName.get('ce_datacontenttype');
  if (contentType !== undefined) event.datacontenttype = contentType;
  const data = binaryModeData(contentType, body);
  if (!data.ok) throw new UndecodableEventError(`${data.error.pointer}: ${data.error.detail}`);
  if (data.data !== undefined) event.data = data.data;
  return event;
}

/** A header's text; the binding requires UTF-8, and a lossy decode would silently change an id. */
function headerText(name: string, raw: unknown): string {
  if (Buffer.isBuffer(raw)) {
    if (!isUtf8(raw)) throw new UndecodableEventError(`header ${name} is not valid UTF-8`);
    return raw.toString('utf8');
  }
  if (Array.isArray(raw)) throw new UndecodableEventError(`header ${name} appears ${raw.length} times; send it once`);
  const text = String(raw);
  // The consumer decodes header bytes as UTF-8 with replacement: U+FFFD is where they were not UTF-8.
  if (text.includes('\uFFFD')) throw new UndecodableEventError(`header ${name} is not valid UTF-8 (it decodes with U+FFFD replacement characters)`);
  return text;
}
