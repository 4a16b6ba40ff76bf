import { z } from 'zod';
import { catalogSigningConfigSchema, type ServiceConfig } from '@tally/nest-platform';

export const aggregationConfigSchema = z.object({
  /** Days of events kept for reconciliation and queries; must exceed ingestion's maximum lateness. */
  LEDGER_RETENTION_DAYS: z.coerce.number().int().min(32, 'must be at least 32 (longer than the maximum lateness)').default(400),
  /** Windows one usage query may return (counted before it runs): 10,080 is 7 days of MINUTE windows. */
  QUERY_MAX_WINDOWS: z.coerce.number().int().min(1).max(1_000_000).default(10_080),
  /** Longest range of a usage query or an events export. */
  QUERY_MAX_RANGE_DAYS: z.coerce.number().int().min(1).max(3660).default(400),
}).merge(catalogSigningConfigSchema);

export type AggregationSettings = z.infer<typeof aggregationConfigSchema>;
export const aggregationSettings = (config: ServiceConfig): AggregationSettings => config.extra as AggregationSettings;
