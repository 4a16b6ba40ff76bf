import { z } from 'zod';

/** Every derived event carries this envelope so consumers can dedupe, correlate and trace causes. */
/**
 * RFC 3339 date-time with a zone offset (or Z). One precompiled pattern plus a calendar check: zod's
 * own `.datetime()` builds its regular expression on every parse, which showed up in the consumer
 * profiles of every service.
 */
export const RFC3339_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

export const rfc3339 = (message = 'must be an RFC 3339 timestamp') =>
  z.string().refine((s) => RFC3339_PATTERN.test(s) && !Number.isNaN(Date.parse(s)), { message });

export const envelopeSchema = z.object({
  eventId: z.string().min(1),
  occurredAt: rfc3339(),
  tenant: z.string().min(1),
  correlationId: z.string().min(1).optional(),
  causationId: z.string().min(1).optional(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

export const isoDateTime = rfc3339();
/** Quantities and money travel as decimal strings so no JSON number rounds them. */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal string like "12.50"');
