import type { ZodType } from 'zod';

/**
 * Fast acceptance for the high-volume internal topics. A check registered for a schema says yes only to a
 * value the schema accepts AND returns unchanged (no unknown key stripped, no default filled in, no
 * `__proto__` key dropped); on anything else it says no and the consumer runs the schema, so every
 * rejection and its reason still come from the schema. zod copies every object it parses: on
 * `usage.events.v1` and `usage.aggregates.v1` that was a visible share of the consumers' CPU and garbage.
 * Checks take values as JSON.parse makes them (plain objects and arrays, no getters).
 */
const fastAccepts = new WeakMap<ZodType, (value: unknown) => boolean>();

export function withFastAccept<S extends ZodType>(schema: S, accepts: (value: unknown) => boolean): S {
  fastAccepts.set(schema, accepts);
  return schema;
}

/** The schema's fast check, if it has one. */
export function fastAcceptFor(schema: ZodType): ((value: unknown) => boolean) | undefined {
  return fastAccepts.get(schema);
}

export type JsonObject = Record<string, unknown>;

/** What JSON.parse makes of `{...}` (zod: parsed type "object"). */
export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
/** Own enumerable keys (a parsed JSON object has no others), without allocating their list. */
export function keyCount(o: JsonObject): number {
  let n = 0;
  for (const key in o) if (Object.prototype.hasOwnProperty.call(o, key)) n += 1;
  return n;
}

/** zod's records drop a `__proto__` key; such a value is left to the schema. */
export const hasProtoKey = (o: JsonObject): boolean => Object.prototype.hasOwnProperty.call(o, '__proto__');
