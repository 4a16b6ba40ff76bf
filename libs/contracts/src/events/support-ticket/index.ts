import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

/** `support.tickets.v1`, keyed `<tenant>:<customer>`: a support ticket opened or changed. */
export const supportTicketSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  ticketId: z.string().min(1),
  status: z.enum(['open', 'pending', 'solved', 'closed']),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
});

export type SupportTicket = z.infer<typeof supportTicketSchema>;
