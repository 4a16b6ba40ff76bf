import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Customer portal tokens: short-lived, customer-scoped bearer tokens a vendor's backend mints (POST
 * /api/v1/portal/tokens with its API key) and hands to its own customer's browser, like OpenMeter's portal tokens.
 *
 * The token carries the vendor's API key, because the services only know API keys; it is therefore encrypted, not
 * just signed: AES-256-GCM under a key derived from PORTAL_TOKEN_SECRET, whose tag authenticates the whole token
 * (a changed byte, customer or expiry fails to open). A revoked API key ends every token minted with it.
 */
export const PORTAL_TOKEN_PREFIX = 'tpt_';
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 24 * 3600;
export const DEFAULT_TTL_SECONDS = 3600;
const VERSION = 1;

export interface PortalClaims {
  /** The tenant's API key the gateway forwards with (never shown to the token's holder). */
  apiKey: string;
  customer: string;
  /** Unix seconds. */
  expiresAt: number;
}

export type VerifyResult = { ok: true; claims: PortalClaims } | { ok: false; reason: 'malformed' | 'invalid' | 'expired' };

/** The 32-byte AES key of a secret (a passphrase of any length >= 32 characters). */
export function portalKey(secret: string): Buffer {
  return createHash('sha256').update(`tally-portal-token-v1\u0000${secret}`).digest();
}

export function mintPortalToken(key: Buffer, claims: PortalClaims): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = Buffer.from(JSON.stringify({ v: VERSION, k: claims.apiKey, c: claims.customer, exp: claims.expiresAt }));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return PORTAL_TOKEN_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** Opens and checks a token at `nowSeconds`; any failure names no detail an attacker could use beyond its kind. */
export function verifyPortalToken(key: Buffer, token: string, nowSeconds: number): VerifyResult {
  if (!token.startsWith(PORTAL_TOKEN_PREFIX) || token.length > 4096) return { ok: false, reason: 'malformed' };
  const encoded = token.slice(PORTAL_TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return { ok: false, reason: 'malformed' };
  const raw = Buffer.from(encoded, 'base64url');
  // Base64 decoding ignores stray trailing characters and bits; only the one canonical spelling is the token.
  if (raw.length < 12 + 16 + 2 || raw.toString('base64url') !== encoded) return { ok: false, reason: 'malformed' };
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  let parsed: { v?: unknown; k?: unknown; c?: unknown; exp?: unknown };
  try {
    parsed = JSON.parse(plain.toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (parsed.v !== VERSION || typeof parsed.k !== 'string' || typeof parsed.c !== 'string' || typeof parsed.exp !== 'number') return { ok: false, reason: 'invalid' };
  if (parsed.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { apiKey: parsed.k, customer: parsed.c, expiresAt: parsed.exp } };
}

export type MintRequest = { ok: true; customer: string; ttlSeconds: number } | { ok: false; errors: Array<{ pointer: string; detail: string }> };

/** Validates `{customer, ttlSeconds?}` of a mint request. */
export function parseMintRequest(body: unknown): MintRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, errors: [{ pointer: '', detail: 'must be a JSON object' }] };
  const { customer, ttlSeconds, ...rest } = body as Record<string, unknown>;
  const errors: Array<{ pointer: string; detail: string }> = [];
  for (const name of Object.keys(rest)) errors.push({ pointer: `/${name}`, detail: 'is not a field of this request' });
  if (typeof customer !== 'string' || customer.length < 1 || customer.length > 200) errors.push({ pointer: '/customer', detail: 'must be a customer id (1-200 characters)' });
  const ttl = ttlSeconds === undefined ? DEFAULT_TTL_SECONDS : ttlSeconds;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    errors.push({ pointer: '/ttlSeconds', detail: `must be a whole number of seconds from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}` });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, customer: customer as string, ttlSeconds: ttl as number };
}
