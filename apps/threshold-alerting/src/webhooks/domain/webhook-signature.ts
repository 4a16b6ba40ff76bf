import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signing (the scheme of Svix and the `standardwebhooks` libraries): the secret is `whsec_` +
 * base64 of the key bytes; `webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")),
 * several space-separated when a secret rotates; `webhook-timestamp` is Unix seconds, so a receiver can refuse replays.
 */
export const SECRET_PREFIX = 'whsec_';
/** Key sizes the spec allows (24 to 64 bytes); we generate 32. */
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const GENERATED_SECRET_BYTES = 32;
/** How far a receiver should let the timestamp be from its clock (the spec's recommendation). */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A secret from key bytes (the caller draws them from `randomBytes`). */
export function formatSecret(key: Buffer): string {
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) throw new Error(`a secret has ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  return `${SECRET_PREFIX}${key.toString('base64')}`;
}

/** The key bytes of a `whsec_` secret, or why it is not one (strict base64: Buffer.from would skip bad characters). */
export function secretKey(secret: string): { key: Buffer } | { error: string } {
  if (!secret.startsWith(SECRET_PREFIX)) return { error: `must start with ${SECRET_PREFIX}` };
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return { error: `must be ${SECRET_PREFIX} followed by standard base64` };
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) return { error: `must encode ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes (got ${key.length})` };
  return { key };
}

/** `v1,<base64 HMAC-SHA256>` of `id.timestamp.body`. */
export function signature(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The three headers of one attempt (the timestamp is the attempt's, so a retry is not refused as a replay). */
export function webhookHeaders(key: Buffer, id: string, timestampSeconds: number, body: string): WebhookHeaders {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature(key, id, timestampSeconds, body) };
}

/**
 * What a receiver checks (used by our tests and mirrored by the README's sample): all headers present, the
 * timestamp within the tolerance of `nowSeconds`, and one `v1` signature equal in constant time.
 */
export function verifyWebhook(secret: string, headers: Partial<WebhookHeaders>, body: string, nowSeconds: number, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS): { ok: true } | { ok: false; reason: string } {
  const parsed = secretKey(secret);
  if ('error' in parsed) return { ok: false, reason: `secret ${parsed.error}` };
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'webhook-timestamp is not Unix seconds' };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'webhook-timestamp is outside the tolerance' };
  const expected = Buffer.from(signature(parsed.key, id, Number(timestamp), body));
  const match = signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return match ? { ok: true } : { ok: false, reason: 'no matching signature' };
}
