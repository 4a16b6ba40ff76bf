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

/** A stored request of an Idempotency-Key, as the decision needs it. */
export interface StoredIdempotentRequest {
  fingerprint: string;
  /** null while the first request is still running. */
  status: number | null;
  expiresAt: Date;
}

/**
 * What to do with a request carrying an Idempotency-Key, given what the key already holds:
 * - `execute`: the key is new (or its record expired): run the request and remember its answer;
 * - `replay`: the same request (same fingerprint) was answered: send that answer again;
 * - `mismatch`: the key was used for another request (422: a key names one request);
 * - `in-progress`: the first request with this key has not answered yet (409, retry later).
 */
export type IdempotencyDecision = 'execute' | 'replay' | 'mismatch' | 'in-progress';

export function idempotencyDecision(stored: StoredIdempotentRequest | null, fingerprint: string, now: Date): IdempotencyDecision {
  if (!stored || stored.expiresAt.getTime() <= now.getTime()) return 'execute';
  if (stored.fingerprint !== fingerprint) return 'mismatch';
  return stored.status === null ? 'in-progress' : 'replay';
}

/** Only successful answers are remembered: a refused or failed request changed nothing and may be retried with its key. */
export const isRememberedStatus = (status: number): boolean => status >= 200 && status < 300;
