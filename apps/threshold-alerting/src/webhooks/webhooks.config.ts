import { z } from 'zod';
import type { ServiceConfig } from '@tally/nest-platform';

const positiveInt = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * Webhook settings, validated with the service's other env vars at start-up (a bad value stops it with a
 * message naming the variable). Limits apply to this instance; each instance claims its own share of due deliveries.
 */
export const webhooksConfigSchema = z.object({
  /** Lets endpoints on private, loopback and link-local addresses through: local development and tests only. */
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false'], { errorMap: () => ({ message: 'must be true or false' }) }).default('false'),
  /** Attempts per delivery, the first included; after the last failed one it is recorded as failed. */
  WEBHOOKS_MAX_ATTEMPTS: positiveInt(1, 50, 10),
  /** First retry after about this long; doubles per failed attempt (equal jitter) up to WEBHOOKS_RETRY_MAX_MS. */
  WEBHOOKS_RETRY_BASE_MS: positiveInt(10, 86_400_000, 30_000),
  WEBHOOKS_RETRY_MAX_MS: positiveInt(10, 7 * 86_400_000, 6 * 3_600_000),
  /** Whole request (connect, send, answer) per attempt; a slower endpoint's attempt fails and is retried. */
  WEBHOOKS_TIMEOUT_MS: positiveInt(100, 120_000, 10_000),
  /** Requests in flight at once: in all, per tenant, per endpoint. */
  WEBHOOKS_CONCURRENCY: positiveInt(1, 1000, 32),
  WEBHOOKS_TENANT_CONCURRENCY: positiveInt(1, 1000, 4),
  WEBHOOKS_ENDPOINT_CONCURRENCY: positiveInt(1, 1000, 2),
  /** How often due retries are looked for (new deliveries of this instance are sent at once). */
  WEBHOOKS_POLL_INTERVAL_MS: positiveInt(10, 60_000, 1_000),
  WEBHOOKS_MAX_ENDPOINTS_PER_TENANT: positiveInt(1, 1000, 20),
});

export type WebhooksEnv = z.infer<typeof webhooksConfigSchema>;

export interface WebhookSettings {
  allowPrivateTargets: boolean;
  retry: { maxAttempts: number; baseMs: number; maxMs: number };
  timeoutMs: number;
  limits: { total: number; perTenant: number; perEndpoint: number };
  pollIntervalMs: number;
  maxEndpointsPerTenant: number;
}

export function webhookSettings(config: ServiceConfig): WebhookSettings {
  const env = webhooksConfigSchema.parse(config.extra);
  return {
    allowPrivateTargets: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS === 'true',
    retry: { maxAttempts: env.WEBHOOKS_MAX_ATTEMPTS, baseMs: env.WEBHOOKS_RETRY_BASE_MS, maxMs: env.WEBHOOKS_RETRY_MAX_MS },
    timeoutMs: env.WEBHOOKS_TIMEOUT_MS,
    limits: { total: env.WEBHOOKS_CONCURRENCY, perTenant: env.WEBHOOKS_TENANT_CONCURRENCY, perEndpoint: env.WEBHOOKS_ENDPOINT_CONCURRENCY },
    pollIntervalMs: env.WEBHOOKS_POLL_INTERVAL_MS,
    maxEndpointsPerTenant: env.WEBHOOKS_MAX_ENDPOINTS_PER_TENANT,
  };
}
