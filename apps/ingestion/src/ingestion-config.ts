import { z } from 'zod';
import { catalogSigningConfigSchema, type ServiceConfig } from '@tally/nest-platform';

/** Ingestion's own settings, validated at boot with the common ones. ADMIN_TOKEN is a secret: never logged. */
export const ingestionConfigSchema = z.object({
  ADMIN_TOKEN: z.string({ required_error: 'is required (the bearer token of the admin API)' }).min(16, 'must be at least 16 characters'),
  INGEST_MAX_EVENT_BYTES: z.coerce.number().int().positive().default(65_536),
  INGEST_MAX_BATCH_BYTES: z.coerce.number().int().positive().default(1_048_576),
  INGEST_MAX_BATCH_EVENTS: z.coerce.number().int().positive().default(1_000),
  INGEST_MAX_LATENESS_HOURS: z.coerce.number().positive().default(31 * 24),
  INGEST_MAX_FUTURE_SECONDS: z.coerce.number().nonnegative().default(300),
  INGEST_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(20_000),
  INGEST_RATE_LIMIT_BURST: z.coerce.number().positive().optional(),
  /** Days a dead letter stays in the table (and the dead-letters APIs); older rows are deleted hourly by dead_lettered_at. */
  DEAD_LETTER_RETENTION_DAYS: z.coerce.number().int().min(1, 'must be at least 1').max(36_600, 'must be at most 36600').default(90),
}).merge(catalogSigningConfigSchema);

export type IngestionSettings = z.infer<typeof ingestionConfigSchema>;

export const ingestionSettings = (config: ServiceConfig): IngestionSettings => config.extra as IngestionSettings;
