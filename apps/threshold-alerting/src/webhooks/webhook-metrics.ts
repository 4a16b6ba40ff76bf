import { Counter, Gauge, Histogram, register } from 'prom-client';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** Deliveries by what an attempt led to: `succeeded`, `retried` (failed, another attempt scheduled), `failed` (after the last attempt, or refused). */
export const webhookDeliveries = once(
  'tally_webhook_deliveries_total',
  () => new Counter({ name: 'tally_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome (succeeded, retried, failed)', labelNames: ['outcome'] }),
);

export const webhookAttemptSeconds = once(
  'tally_webhook_attempt_seconds',
  () =>
    new Histogram({
      name: 'tally_webhook_attempt_seconds',
      help: 'Duration of one webhook attempt (connect to answer or timeout)',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
);

export const webhooksInFlight = once('tally_webhook_requests_in_flight', () => new Gauge({ name: 'tally_webhook_requests_in_flight', help: 'Webhook requests in flight on this instance' }));

export const webhookDeliveriesCreated = once(
  'tally_webhook_deliveries_created_total',
  () => new Counter({ name: 'tally_webhook_deliveries_created_total', help: 'Webhook deliveries created from consumed events', labelNames: ['kind'] }),
);
