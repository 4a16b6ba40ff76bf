import type { IncomingMessage } from 'node:http';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

let sdk: NodeSDK | undefined;

export interface TelemetryOptions {
  serviceName: string;
  /** Extra processors (tests pass an in-memory exporter to assert on spans). */
  spanProcessors?: tracing.SpanProcessor[];
}

/** Probes and scrapes: polled every few seconds by the platform, never part of a user's trace. */
export function isUntracedRequest(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0];
  return path === '/metrics' || path === '/health' || path.startsWith('/health/');
}

/**
 * The instrumentations every service registers:
 * - HTTP, incoming and outgoing (node:http, which Express and the gateway's proxy use): a server span per
 *   request continuing the caller's `traceparent`, so what a request produces to Kafka carries the request's
 *   trace; outgoing calls get a client span and the header. Probes and /metrics are not traced, and an
 *   outgoing call outside any trace (none today) opens no trace of its own.
 * - pg: a span per query, only inside a trace (`requireParentSpan`): the outbox relay and the jobs poll
 *   Postgres several times a second, and a root trace per poll would drown the real ones.
 * Kafka has no client instrumentation here on purpose: @tally/kafka makes its own spans (a CONSUMER span per
 * batch linked to every message's producer, a PRODUCER span per derived event, a send span per outbox row
 * restoring the stored context). The kafkajs instrumentation would instead inject the relay's (empty) context
 * into every record it sends, overwriting the trace the outbox row carries, and it does not see
 * @platformatic/kafka at all.
 */
export function tallyInstrumentations(): [HttpInstrumentation, PgInstrumentation] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req: IncomingMessage) => isUntracedRequest(req.url),
      requireParentforOutgoingSpans: true,
    }),
    new PgInstrumentation({ requireParentSpan: true }),
  ];
}

/**
 * Starts OpenTelemetry tracing. Must run before any other import in a service's `main.ts`: the HTTP and pg
 * instrumentations patch those modules when they are loaded. Spans are exported over OTLP/HTTP (JSON) when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise they are still created (trace ids flow through Kafka
 * headers and logs) but go nowhere.
 */
export function startTelemetry(options: TelemetryOptions): void {
  if (sdk) return;
  const processors: tracing.SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    // Loaded lazily: the exporter pulls in protobuf machinery that a service without a collector never needs.
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
    processors.push(new tracing.BatchSpanProcessor(new OTLPTraceExporter()));
  }
  if (processors.length === 0) processors.push(new tracing.NoopSpanProcessor());
  sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? options.serviceName,
    spanProcessors: processors,
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: tallyInstrumentations(),
  });
  sdk.start();
}

export async function stopTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}
