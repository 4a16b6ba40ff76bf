import { z } from 'zod';
import { rfc3339 } from '../../envelope';

/**
 * A usage event as product services send it: CloudEvents 1.0 (the format OpenMeter ingests).
 * `subject` is the customer. `(tenant, source, id)` is the idempotency key.
 * On `usage.events.raw.v1` the tenant comes from the `tally-tenant` header or the `tenant` extension
 * attribute; ingestion stamps it from the API key for HTTP.
 */
export const rawUsageEventSchema = z.object({
  specversion: z.literal('1.0', { errorMap: () => ({ message: 'must be "1.0"' }) }),
  id: z.string().min(1, 'must not be empty'),
  source: z.string().min(1, 'must not be empty'),
  type: z.string().min(1, 'must not be empty'),
  subject: z.string().min(1, 'must not be empty'),
  time: rfc3339().optional(),
  datacontenttype: z.string().optional(),
  data: z.record(z.unknown()).optional(),
  tenant: z.string().min(1).optional(),
});

export type RawUsageEvent = z.infer<typeof rawUsageEventSchema>;
