import { z } from 'zod';
import { decimalString } from '@tally/contracts';
import { isTimeZone } from '../domain/billing-periods';

export const customerDefinitionSchema = z.object({
  /** The vendor's own id for the customer: the `subject` of its usage events. */
  id: z.string().min(1).max(200),
  name: z.string().min(1),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like "EUR"'),
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone like "Europe/Berlin"').default('UTC'),
  billingEmail: z.string().email().optional(),
  /** Percent, e.g. "19". */
  taxRate: decimalString.refine((v) => Number(v) >= 0 && Number(v) <= 100, 'must be between 0 and 100').default('0'),
});

export type CustomerDefinition = z.infer<typeof customerDefinitionSchema>;
