import { z } from 'zod';

/** Every derived event carries this envelope so consumers can dedupe, correlate and trace causes. */
export const envelopeSchema = z.object({
  eventId: z.string().min(1),
  occurredAt: z.string().datetime({ offset: true }),
  tenant: z.string().min(1),
  correlationId: z.string().min(1).optional(),
  causationId: z.string().min(1).optional(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

export const isoDateTime = z.string().datetime({ offset: true });
/** Quantities and money travel as decimal strings so no JSON number rounds them. */
export const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a decimal string like "12.50"');
