import { isUntracedRequest, tallyInstrumentations } from './start-telemetry';

describe('isUntracedRequest', () => {
  it('leaves probes and the metrics scrape untraced, with or without a query string', () => {
    for (const url of ['/health', '/health/ready', '/health/live', '/metrics', '/metrics?x=1', '/health?verbose=1']) expect(isUntracedRequest(url)).toBe(true);
  });

  it('traces everything else, including look-alikes', () => {
    for (const url of ['/api/v1/events', '/healthz', '/api/v1/metrics', '/metricsx', '/', '', undefined]) expect(isUntracedRequest(url)).toBe(false);
  });
});

describe('tallyInstrumentations', () => {
  it('HTTP (no root spans for outgoing calls) and pg (only inside a trace)', () => {
    const [http, pg] = tallyInstrumentations();
    expect(http.instrumentationName).toBe('@opentelemetry/instrumentation-http');
    expect(http.getConfig()).toMatchObject({ requireParentforOutgoingSpans: true });
    expect(pg.instrumentationName).toBe('@opentelemetry/instrumentation-pg');
    expect(pg.getConfig()).toMatchObject({ requireParentSpan: true });
    for (const i of [http, pg]) i.disable();
  });
});
