import { z } from 'zod';
import { catalogSigningConfigSchema, type ServiceConfig } from '@tally/nest-platform';
import type { DunningPolicy } from './domain/dunning';
import type { JobRetryPolicy } from './domain/job-retry';

const dayList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be a comma-separated list of whole days, e.g. "1,3,7"')
  .transform((v) => v.split(',').map((d) => Number(d.trim())));

export const billingConfigSchema = z.object({
  /** How long a period stays open for late events after it ends; its invoice is a draft meanwhile. */
  BILLING_GRACE_PERIOD_HOURS: z.coerce.number().min(0).default(24),
  /** How often the period roll, close and dunning job runs. */
  BILLING_JOB_INTERVAL_MS: z.coerce.number().int().min(100).default(60_000),
  /** Wait before a job tries again an item that failed; doubles after each failure... */
  BILLING_JOB_RETRY_BASE_MS: z.coerce.number().int().min(0).default(60_000),
  /** ...up to this. */
  BILLING_JOB_RETRY_MAX_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Days from finalization to the due date. */
  PAYMENT_TERMS_DAYS: z.coerce.number().int().min(0).default(0),
  DUNNING_RETRY_DAYS: dayList.default('1,3,7'),
  DUNNING_PAST_DUE_AFTER_DAYS: z.coerce.number().min(0).default(0),
  DUNNING_DELINQUENT_AFTER_DAYS: z.coerce.number().min(0).default(30),
  /** How long an Idempotency-Key of a POST is remembered (its answer replayed, another request with it refused). */
  BILLING_IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().max(8760).default(24),
}).merge(catalogSigningConfigSchema);

export type BillingSettings = z.infer<typeof billingConfigSchema>;
export const billingSettings = (config: ServiceConfig): BillingSettings => config.extra as BillingSettings;
export const dunningPolicy = (s: BillingSettings): DunningPolicy => ({
  retryDays: s.DUNNING_RETRY_DAYS,
  pastDueAfterDays: s.DUNNING_PAST_DUE_AFTER_DAYS,
  delinquentAfterDays: s.DUNNING_DELINQUENT_AFTER_DAYS,
});
export const jobRetryPolicy = (s: BillingSettings): JobRetryPolicy => ({ baseMs: s.BILLING_JOB_RETRY_BASE_MS, maxMs: Math.max(s.BILLING_JOB_RETRY_BASE_MS, s.BILLING_JOB_RETRY_MAX_MS) });
