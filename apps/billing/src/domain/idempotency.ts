import { createHash } from 'node:crypto';

/** An Idempotency-Key as clients send it (a UUID, typically): 1 to 255 visible ASCII characters. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The key, or what is wrong with it (the header sent twice arrives joined by ", " and is refused). */
export function parseIdempotencyKey(header: string | string[] | undefined): { key?: string; error?: string } {
  if (header === undefined) return {};
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (!KEY_PATTERN.test(value)) return { error: 'Idempotency-Key must be 1 to 255 visible ASCII characters (one header, no spaces), e.g. a UUID' };
  return { key: value };
}

/** JSON with object keys sorted at every level, so the same request in another key order is the same request. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** What tells a retry (same fingerprint) from another request reusing a key. */
export function requestFingerprint(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}
