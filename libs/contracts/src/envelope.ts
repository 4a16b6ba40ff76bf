import { z } from 'zod';
import { isNonEmptyString, type JsonObject } from './fast-accept';

export * from './fast-accept';

/** Every derived event carries this envelope so consumers can dedupe, correlate and trace causes. */
/**
 * RFC 3339 date-time with a zone offset (or Z). One precompiled pattern plus a calendar check: zod's
 * own `.datetime()` builds its regular expression on every parse, which showed up in the consumer
 * profiles of every service.
 */
export const RFC3339_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

/** The check `rfc3339()` makes, for fast checks (see withFastAccept). */
export const isRfc3339 = (v: unknown): boolean => typeof v === 'string' && RFC3339_PATTERN.test(v) && !Number.isNaN(Date.parse(v));

export const rfc3339 = (message = 'must be an RFC 3339 timestamp') =>
  z.string().refine(isRfc3339, { message });

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
export const DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;
export const decimalString = z.string().regex(DECIMAL_PATTERN, 'must be a decimal string like "12.50"');

/**
 * The envelope's fields (see envelopeSchema) are well-formed; returns how many keys they take (3 to 5), or
 * -1 when one is not.
 */
export function envelopeKeys(o: JsonObject): number {
  if (!isNonEmptyString(o.eventId) || !isRfc3339(o.occurredAt) || !isNonEmptyString(o.tenant)) return -1;
  let n = 3;
  if (o.correlationId !== undefined) {
    if (!isNonEmptyString(o.correlationId)) return -1;
    n += 1;
  }
  if (o.causationId !== undefined) {
    if (!isNonEmptyString(o.causationId)) return -1;
    n += 1;
  }
  return n;
}
