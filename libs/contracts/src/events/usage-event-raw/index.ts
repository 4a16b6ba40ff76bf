import { z } from 'zod';
import { hasProtoKey, isObject, isRfc3339, keyCount, rfc3339, withFastAccept, type JsonObject } from '../../envelope';
import { attributeProblem, INPUT_LIMITS, valueProblems, type LimitedAttribute } from './input-limits';

export * from './input-limits';
export * from './strict-json';
export * from './cloudevents-binding';

/** A non-empty attribute within its byte cap, with no NUL and no unpaired surrogate (INPUT_LIMITS). */
const attribute = (name: LimitedAttribute) =>
  z
    .string()
    .min(1, 'must not be empty')
    .superRefine((s, ctx) => {
      const problem = attributeProblem(s, INPUT_LIMITS.attributeBytes[name]);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    });

/**
 * A usage event as product services send it: CloudEvents 1.0 (the format OpenMeter ingests).
 * `subject` is the customer. `(tenant, source, id)` is the idempotency key.
 * On `usage.events.raw.v1` the tenant comes from the `tally-tenant` header or the `tenant` extension
 * attribute (`ce_tenant` in binary mode); ingestion stamps it from the API key for HTTP.
 * Every string, key and number of the event obeys INPUT_LIMITS, whichever way it arrived.
 */
export const rawUsageEventSchema = withFastAccept(
  z.object({
    specversion: z.literal('1.0', { errorMap: () => ({ message: 'must be "1.0"' }) }),
    id: attribute('id'),
    source: attribute('source'),
    type: attribute('type'),
    subject: attribute('subject'),
    time: rfc3339().optional(),
    datacontenttype: attribute('datacontenttype').optional(),
    data: z
      .record(z.unknown())
      .superRefine((data, ctx) => {
        // `data` is level 2 of the event.
        for (const p of valueProblems(data, INPUT_LIMITS.maxDepth - 1)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: p.path, message: p.detail });
      })
      .optional(),
    tenant: attribute('tenant').optional(),
  }),
  acceptsRawUsageEventUnchanged,
);

const has = (o: JsonObject, key: string) => Object.prototype.hasOwnProperty.call(o, key);
const attributeOk = (v: unknown, name: LimitedAttribute) => typeof v === 'string' && v.length > 0 && attributeProblem(v, INPUT_LIMITS.attributeBytes[name]) === undefined;

/**
 * rawUsageEventSchema's fast check (see withFastAccept): the same limits through the same helpers, true only
 * for what the schema returns unchanged; anything else (an unknown extension attribute the schema strips,
 * any problem) goes through the schema, which gives the dead letter its reason.
 */
export function acceptsRawUsageEventUnchanged(v: unknown): boolean {
  if (!isObject(v) || v.specversion !== '1.0') return false;
  if (!attributeOk(v.id, 'id') || !attributeOk(v.source, 'source') || !attributeOk(v.type, 'type') || !attributeOk(v.subject, 'subject')) return false;
  let keys = 5;
  if (has(v, 'time')) {
    if (v.time !== undefined && !isRfc3339(v.time)) return false;
    keys += 1;
  }
  for (const name of ['datacontenttype', 'tenant'] as const) {
    if (!has(v, name)) continue;
    if (v[name] !== undefined && !attributeOk(v[name], name)) return false;
    keys += 1;
  }
  if (has(v, 'data')) {
    const data = v.data;
    if (data !== undefined && (!isObject(data) || hasProtoKey(data) || valueProblems(data, INPUT_LIMITS.maxDepth - 1, 1).length > 0)) return false;
    keys += 1;
  }
  return keyCount(v) === keys;
}

export type RawUsageEvent = z.infer<typeof rawUsageEventSchema>;
