import { z } from 'zod';
import { envelopeSchema, isoDateTime } from '../../envelope';

/** `support.tickets.v1`, keyed `<tenant>:<customer>`: a support ticket opened or changed. */
export const supportTicketSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  ticketId: z.string().min(1),
  status: z.enum(['open', 'pending', 'solved', 'closed']),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  /** When the ticket was opened (its age weighs on health); absent: the first message's `occurredAt`. */
  openedAt: isoDateTime.optional(),
});

export type SupportTicket = z.infer<typeof supportTicketSchema>;
