import { z } from 'zod';
import type { ServiceConfig } from '@tally/nest-platform';

export const aggregationConfigSchema = z.object({
  /** Days of events kept for reconciliation and queries; must exceed ingestion's maximum lateness. */
  LEDGER_RETENTION_DAYS: z.coerce.number().int().min(32, 'must be at least 32 (longer than the maximum lateness)').default(400),
});

export type AggregationSettings = z.infer<typeof aggregationConfigSchema>;
export const aggregationSettings = (config: ServiceConfig): AggregationSettings => config.extra as AggregationSettings;
