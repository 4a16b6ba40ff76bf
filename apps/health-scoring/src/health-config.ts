import { z } from 'zod';
import { catalogSigningConfigSchema, type ServiceConfig } from '@tally/nest-platform';

export const healthConfigSchema = z.object({
  /**
   * Debounce per customer: an input change rescores at once when the customer was not scored within this
   * time, otherwise once when it has passed (later changes join that one rescoring).
   */
  HEALTH_RESCORE_DEBOUNCE_MS: z.coerce.number().int().min(0).default(5_000),
  /** How often the rescoring job looks for debounced and day-old scores. */
  HEALTH_RESCORE_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  /** Customers per pass of the job (each in its own transaction). */
  HEALTH_RESCORE_BATCH: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Wait before a customer whose rescoring failed is tried again; doubles per failure up to the max. */
  HEALTH_RESCORE_RETRY_BASE_MS: z.coerce.number().int().min(0).default(60_000),
  HEALTH_RESCORE_RETRY_MAX_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Largest accepted body of POST /api/v1/nps-responses and /api/v1/support-tickets. */
  HEALTH_INGEST_MAX_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(262_144),
  /** Most items in one such request. */
  HEALTH_INGEST_MAX_ITEMS: z.coerce.number().int().min(1).max(10_000).default(500),
}).merge(catalogSigningConfigSchema);

export type HealthSettings = z.infer<typeof healthConfigSchema>;
export const healthSettings = (config: ServiceConfig): HealthSettings => config.extra as HealthSettings;
