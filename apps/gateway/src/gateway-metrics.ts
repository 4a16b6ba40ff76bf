import { Counter, Histogram, register } from 'prom-client';

/** Requests by upstream, route template (bounded by the OpenAPI document), method and status. */
export const gatewayRequestDuration = new Histogram({
  name: 'tally_gateway_request_duration_seconds',
  help: 'Front door requests, from arrival to the last byte of the response, by upstream, route template, method and status',
  labelNames: ['upstream', 'route', 'method', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/** Upstreams that could not be reached or did not answer: refused (502), timeout (504), reset (502 or a cut body). */
export const gatewayUpstreamFailures = new Counter({
  name: 'tally_gateway_upstream_failures_total',
  help: 'Requests the front door could not complete because of the upstream, by upstream and reason',
  labelNames: ['upstream', 'reason'] as const,
});

export const metricsRegistry = register;
