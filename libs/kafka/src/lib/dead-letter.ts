import { createHash } from 'node:crypto';
import { HEADERS } from '@tally/contracts';

/**
 * Dead letters must always fit the broker: a dead letter the broker refuses would block the publisher. The
 * original bytes are kept up to a cap (with their full size and SHA-256, so an operator can match them with
 * the producer's copy), headers and reason are bounded too. The defaults keep a dead letter well below the
 * broker's default 1 MiB `message.max.bytes` even with the base64 copy of a binary value.
 */
export interface DeadLetterLimits {
  /** Original value bytes kept (the rest is cut; `truncated` says so). */
  maxValueBytes: number;
  /** Characters of the reason. */
  maxReasonChars: number;
  /** Headers copied, and characters per header value. */
  maxHeaders: number;
  maxHeaderChars: number;
}

export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = {
  maxValueBytes: 256 * 1024,
  maxReasonChars: 2000,
  maxHeaders: 64,
  maxHeaderChars: 1024,
};

export interface DeadLetterSource {
  /** Logical topic the message came from. */
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** What `<topic>.dlq.v<N>` carries (JSON). */
export interface DeadLetterValue {
  reason: string;
  source: { topic: string; partition: number; offset: string; timestamp: string };
  key: string | null;
  headers: Record<string, string>;
  /** The original value as UTF-8 text when it is valid UTF-8, else null (then read `valueBase64`). */
  value: string | null;
  /** The kept bytes, base64 (null for a message without a value). */
  valueBase64: string | null;
  valueSize: number;
  valueSha256: string | null;
  truncated: boolean;
  deadLetteredAt: string;
}

const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** A lone surrogate or NUL would make the JSON unreadable for some consumers: replace them. */
const cleanText = (s: string): string => s.replaceAll('\u0000', '\\u0000').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function boundedHeaders(headers: Record<string, string>, limits: DeadLetterLimits): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers).slice(0, limits.maxHeaders)) {
    out[cut(cleanText(name), 256)] = cut(cleanText(value), limits.maxHeaderChars);
  }
  return out;
}

export function deadLetterValue(source: DeadLetterSource, reason: string, limits: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS, now = new Date()): DeadLetterValue {
  const bytes = source.value;
  const kept = bytes ? bytes.subarray(0, limits.maxValueBytes) : null;
  const truncated = !!bytes && bytes.length > kept!.length;
  // A cut may split a multi-byte character; the text form is offered only when the whole value is text.
  const text = bytes && !truncated && isValidUtf8(bytes) ? cleanText(bytes.toString('utf8')) : null;
  const key = source.key === null ? null : cut(cleanText(Buffer.isBuffer(source.key) ? source.key.toString('utf8') : source.key), 1024);
  return {
    reason: cut(cleanText(reason), limits.maxReasonChars),
    source: { topic: source.topic, partition: source.partition, offset: source.offset, timestamp: source.timestamp },
    key,
    headers: boundedHeaders(source.headers, limits),
    value: text,
    valueBase64: text === null && kept ? kept.toString('base64') : null,
    valueSize: bytes ? bytes.length : 0,
    valueSha256: bytes ? createHash('sha256').update(bytes).digest('hex') : null,
    truncated,
    deadLetteredAt: now.toISOString(),
  };
}

/** Headers of the dead letter itself: the original's (bounded) plus the reason. */
export function deadLetterHeaders(source: DeadLetterSource, reason: string, limits: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS): Record<string, string> {
  return { ...boundedHeaders(source.headers, { ...limits, maxHeaders: Math.min(limits.maxHeaders, 32) }), [HEADERS.dlqReason]: cut(cleanText(reason), 500) };
}
