import { z } from 'zod';
import { envelopeSchema } from '../../envelope';
import { AGGREGATIONS } from '../usage-event';

/** `catalog.meters.v1` (compacted), keyed `<tenant>:<slug>`: the current definition; `deleted` tombstones it. */
export const meterDefinitionSchema = envelopeSchema.extend({
  slug: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  description: z.string().optional(),
  eventType: z.string().min(1),
  aggregation: z.enum(AGGREGATIONS),
  valueProperty: z.string().optional(),
  groupBy: z.record(z.string()).default({}),
  /**
   * Whether a reading may be negative (a correction, a gauge below zero). Refused at ingestion otherwise;
   * absent on messages written before the field existed, which had no negative policy: false.
   */
  allowNegative: z.boolean().default(false),
  deleted: z.boolean().default(false),
});

export type MeterDefinition = z.infer<typeof meterDefinitionSchema>;
