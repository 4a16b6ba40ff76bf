import { createHash } from 'node:crypto';
import { HEADERS } from '@tally/contracts';

/** A dead letter as the dead-letters API keeps it (pure: decoded from the bytes on a DLQ topic). */
export interface DeadLetterEntry {
  /** Whose it is, or null when that cannot be said for sure: then only the operator (admin token) sees it. */
  tenant: string | null;
  reason: string;
  source: { topic: string | null; partition: number | null; offset: string | null; timestamp: string | null };
  key: string | null;
  headers: Record<string, string>;
  value: string | null;
  valueBase64: string | null;
  valueSize: number;
  valueSha256: string | null;
  truncated: boolean;
  deadLetteredAt: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/**
 * Postgres refuses NUL in text and lone surrogates in jsonb; deadLetterValue already replaces them, but a DLQ
 * message written by anything else must not make the row unwritable (the batch would be retried, then isolated).
 */
const clean = (s: string): string => s.replaceAll('\u0000', '\\u0000').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
const str = (v: unknown): string | null => (typeof v === 'string' ? clean(v) : null);
const MAX_TENANT_CHARS = 256;
// A tenant claim with control characters or a replacement character is garbage, not a tenant.
// eslint-disable-next-line no-control-regex
const UNUSABLE = /[\u0000-\u001f\u007f\uFFFD]/;

/**
 * The tenant of a dead letter, only when every claim it carries agrees: the original's `tally-tenant` header
 * (set by Tally from an API key or an envelope, or by the producer of a raw event), `ce_tenant`, and the
 * `tenant` of the original value (or of every item of a batch). A missing claim is no claim; a disagreement,
 * an unusable value or no claim at all leaves it to the operator. This is the only thing that decides which
 * tenant reads a dead letter, so it errs towards nobody.
 */
export function deadLetterTenant(headers: Record<string, string>, value: string | null): string | null {
  const claims: unknown[] = [];
  if (HEADERS.tenant in headers) claims.push(headers[HEADERS.tenant]);
  if ('ce_tenant' in headers) claims.push(headers.ce_tenant);
  if (value !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    for (const item of Array.isArray(parsed) ? parsed : [parsed]) {
      if (isRecord(item) && 'tenant' in item) claims.push(item.tenant);
      // A CloudEvent's extension may sit under `data` too; the tenant attribute is top-level, so only that counts.
    }
  }
  if (claims.length === 0) return null;
  const [first] = claims;
  if (typeof first !== 'string' || first === '' || first.length > MAX_TENANT_CHARS || UNUSABLE.test(first)) return null;
  return claims.every((c) => c === first) ? first : null;
}

/**
 * Reads a DLQ message (the JSON `deadLetterValue` writes). Never throws: a DLQ message that is not such JSON
 * is kept as an unreadable dead letter for the operator (dead-lettering a dead letter would only hide it).
 */
export function readDeadLetter(bytes: Buffer, dlqHeaders: Record<string, string>, brokerTimestampMs: string): DeadLetterEntry {
  const brokerTime = Number.isFinite(Number(brokerTimestampMs)) ? new Date(Number(brokerTimestampMs)).toISOString() : new Date(0).toISOString();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed) || typeof parsed.reason !== 'string' || !isRecord(parsed.source)) {
    return {
      tenant: null,
      reason: clean(`unreadable dead letter${dlqHeaders[HEADERS.dlqReason] ? `: ${dlqHeaders[HEADERS.dlqReason]}` : ''}`),
      source: { topic: null, partition: null, offset: null, timestamp: null },
      key: null,
      headers: {},
      value: null,
      valueBase64: bytes.length > 0 ? bytes.subarray(0, 64 * 1024).toString('base64') : null,
      valueSize: bytes.length,
      valueSha256: bytes.length > 0 ? createHash('sha256').update(bytes).digest('hex') : null,
      truncated: bytes.length > 64 * 1024,
      deadLetteredAt: brokerTime,
    };
  }
  const headers: Record<string, string> = {};
  if (isRecord(parsed.headers)) for (const [k, v] of Object.entries(parsed.headers)) if (typeof v === 'string') headers[clean(k)] = clean(v);
  const value = str(parsed.value);
  const partition = parsed.source.partition;
  const at = str(parsed.deadLetteredAt);
  return {
    tenant: deadLetterTenant(headers, value),
    reason: clean(parsed.reason),
    source: {
      topic: str(parsed.source.topic),
      partition: typeof partition === 'number' && Number.isInteger(partition) ? partition : null,
      offset: str(parsed.source.offset),
      timestamp: str(parsed.source.timestamp),
    },
    key: str(parsed.key),
    headers,
    value,
    valueBase64: str(parsed.valueBase64),
    valueSize: typeof parsed.valueSize === 'number' && Number.isSafeInteger(parsed.valueSize) ? parsed.valueSize : 0,
    valueSha256: str(parsed.valueSha256),
    truncated: parsed.truncated === true,
    deadLetteredAt: at !== null && !Number.isNaN(Date.parse(at)) ? new Date(at).toISOString() : brokerTime,
  };
}
