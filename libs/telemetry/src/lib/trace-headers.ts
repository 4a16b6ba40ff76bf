import { context, propagation, ROOT_CONTEXT, trace, type Context, type SpanContext } from '@opentelemetry/api';

export type StringHeaders = Record<string, string>;

/** W3C trace context (`traceparent`, `tracestate`) of `ctx` as message headers. */
export function traceHeaders(ctx: Context = context.active()): StringHeaders {
  const carrier: StringHeaders = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context a producer put in a message's headers (ROOT_CONTEXT when there is none). */
export function contextFromHeaders(headers: Record<string, unknown> | undefined): Context {
  const carrier: StringHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined || value === null) continue;
    carrier[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

export function spanContextOf(ctx: Context): SpanContext | undefined {
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext : undefined;
}
