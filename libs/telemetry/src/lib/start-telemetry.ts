import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

let sdk: NodeSDK | undefined;

export interface TelemetryOptions {
  serviceName: string;
  /** Extra processors (tests pass an in-memory exporter to assert on spans). */
  spanProcessors?: tracing.SpanProcessor[];
}

/**
 * Starts OpenTelemetry tracing. Must run before any other import in a service's `main.ts` so the
 * SDK is in place before libraries load. Spans are exported over OTLP when
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
    instrumentations: [],
  });
  sdk.start();
}

export async function stopTelemetry(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown();
}
