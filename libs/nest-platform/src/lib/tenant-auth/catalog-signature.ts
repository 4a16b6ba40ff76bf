import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { HEADERS, TOPICS, type ApiKeyChanged } from '@tally/contracts';
import type { ServiceConfig } from '../service-config';

/**
 * `catalog.api-keys.v1` decides who may call the tenant APIs, so a message there is trusted only when it
 * carries an HMAC-SHA256 by ingestion with the secret the services share: being able to produce to the
 * topic is then not a way to mint an API key for some tenant.
 */
export const CATALOG_SIGNING_SECRET_MIN_BYTES = 32;

/** Merge into the config schema of every service that signs (ingestion) or verifies (tenant APIs) catalog messages. */
export const catalogSigningConfigSchema = z.object({
  /** A secret: never logged. The same value in every service. */
  CATALOG_SIGNING_SECRET: z
    .string({ required_error: `is required (the HMAC secret the services share to sign API-key catalog messages; at least ${CATALOG_SIGNING_SECRET_MIN_BYTES} bytes)` })
    .refine((s) => Buffer.byteLength(s, 'utf8') >= CATALOG_SIGNING_SECRET_MIN_BYTES, `must be at least ${CATALOG_SIGNING_SECRET_MIN_BYTES} bytes`),
});

export function catalogSigningSecret(config: ServiceConfig): string {
  const secret = (config.extra as { CATALOG_SIGNING_SECRET?: unknown }).CATALOG_SIGNING_SECRET;
  // Only a service whose configSchema forgot catalogSigningConfigSchema gets here; fail its boot, never run unsigned.
  if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < CATALOG_SIGNING_SECRET_MIN_BYTES) {
    throw new Error(`${config.service}: CATALOG_SIGNING_SECRET is not part of the service's validated config (merge catalogSigningConfigSchema into its configSchema)`);
  }
  return secret;
}

/** The version prefix lets a later scheme (another hash, a key id for rotation) sit beside this one. */
const SCHEME = 'v1';

/**
 * What is signed: the topic, the Kafka key and every field of the payload, in a fixed order, as one JSON
 * array. Field order, whitespace and unknown fields of the JSON on the wire therefore do not matter, and no
 * field (the tenant above all) can be changed or moved into another message without breaking the signature.
 */
export function canonicalApiKeyChange(messageKey: string | null, value: ApiKeyChanged): string {
  return JSON.stringify([
    TOPICS.catalogApiKeys,
    messageKey,
    value.eventId,
    value.occurredAt,
    value.tenant,
    value.correlationId ?? null,
    value.causationId ?? null,
    value.keyId,
    value.keyHash,
    value.revoked,
  ]);
}

const mac = (secret: string, messageKey: string | null, value: ApiKeyChanged): Buffer =>
  createHmac('sha256', secret).update(canonicalApiKeyChange(messageKey, value), 'utf8').digest();

/** The `tally-signature` header value for a catalog message: `v1=<hex HMAC-SHA256>`. */
export function signApiKeyChange(secret: string, messageKey: string | null, value: ApiKeyChanged): string {
  return `${SCHEME}=${mac(secret, messageKey, value).toString('hex')}`;
}

/** Why a catalog message must not be trusted, or undefined when its signature is valid. */
export function apiKeyChangeSignatureProblem(secret: string, messageKey: string | null, value: ApiKeyChanged, headers: Record<string, string>): string | undefined {
  const header = headers[HEADERS.signature];
  if (header === undefined) return `unsigned catalog message: no ${HEADERS.signature} header`;
  const match = /^v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return `malformed ${HEADERS.signature} header (expected v1=<64 hex digits>)`;
  // Constant-time: how much of a guess matched must not show in the time it takes to refuse it.
  if (!timingSafeEqual(Buffer.from(match[1], 'hex'), mac(secret, messageKey, value))) return `invalid ${HEADERS.signature}: not signed with this deployment's CATALOG_SIGNING_SECRET, or altered`;
  return undefined;
}
