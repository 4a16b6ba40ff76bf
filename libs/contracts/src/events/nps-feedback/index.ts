import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

/** `feedback.nps.v1`, keyed `<tenant>:<customer>`: one NPS answer (0-10). */
export const npsFeedbackSchema = envelopeSchema.extend({
  customer: z.string().min(1),
  score: z.number().int().min(0).max(10),
});

export type NpsFeedback = z.infer<typeof npsFeedbackSchema>;
