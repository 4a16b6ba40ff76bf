import { z } from 'zod';
import { envelopeSchema } from '../../envelope';

/**
 * `catalog.api-keys.v1` (compacted), keyed by key id: an API key's SHA-256 hash and whether it is
 * revoked, so every service can authenticate tenant calls from its own projection. The key itself
 * never leaves ingestion (a hash of 192 random bits cannot be reversed).
 */
export const apiKeyChangedSchema = envelopeSchema.extend({
  keyId: z.string().min(1),
  keyHash: z.string().regex(/^[0-9a-f]{64}$/),
  revoked: z.boolean(),
});

export type ApiKeyChanged = z.infer<typeof apiKeyChangedSchema>;
