import { z } from 'zod';
import type { ServiceConfig } from '@tally/nest-platform';

/** Alert-log settings, validated with the service's other env vars at start-up (a bad value stops it naming the variable). */
export const alertLogConfigSchema = z.object({
  /** Days an alert stays in the log (and the alerts API); older rows are deleted hourly by occurred_at. */
  ALERT_LOG_RETENTION_DAYS: z.coerce.number().int().min(1, 'must be at least 1').max(36_600, 'must be at most 36600').default(400),
});

export type AlertLogSettings = z.infer<typeof alertLogConfigSchema>;
export const alertLogSettings = (config: ServiceConfig): AlertLogSettings => alertLogConfigSchema.parse(config.extra);
