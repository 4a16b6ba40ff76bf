import { Counter, Gauge, Histogram, register } from 'prom-client';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const consumedMessages = once(
  'tally_consumer_messages_total',
  () =>
    new Counter({
      name: 'tally_consumer_messages_total',
      help: 'Messages handled by the exactly-once consumer, by outcome (applied, skipped_stale, dead_lettered)',
      labelNames: ['topic', 'outcome'],
    }),
);

export const batchDuration = once(
  'tally_consumer_batch_seconds',
  () =>
    new Histogram({
      name: 'tally_consumer_batch_seconds',
      help: 'Time to apply one batch in one Postgres transaction',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
);

export const consumerLag = once(
  'tally_consumer_lag_messages',
  () =>
    new Gauge({
      name: 'tally_consumer_lag_messages',
      help: 'High watermark minus the next offset to apply, per partition, at the last batch',
      labelNames: ['topic', 'partition'],
    }),
);

export const outboxPublished = once(
  'tally_outbox_published_total',
  () => new Counter({ name: 'tally_outbox_published_total', help: 'Outbox records published to Kafka', labelNames: ['topic'] }),
);

export const outboxPending = once(
  'tally_outbox_pending',
  () => new Gauge({ name: 'tally_outbox_pending', help: 'Outbox records seen unpublished at the last relay pass' }),
);

export const consumerRetries = once(
  'tally_consumer_retries_total',
  () =>
    new Counter({
      name: 'tally_consumer_retries_total',
      help: 'Failed attempts to apply a batch or message, by kind (transient: Postgres/broker unavailable, retried without limit; deterministic: retried a bounded number of times, then isolated)',
      labelNames: ['topic', 'kind'],
    }),
);

export const deadLetters = once(
  'tally_dead_letters_total',
  () =>
    new Counter({
      name: 'tally_dead_letters_total',
      help: 'Messages sent to their topic\'s DLQ, by reason (undecodable, schema, rejected by the handler, poison: isolated after failing every attempt)',
      labelNames: ['topic', 'reason'],
    }),
);

export const outboxParked = once(
  'tally_outbox_parked_total',
  () => new Counter({ name: 'tally_outbox_parked_total', help: 'Outbox records the broker refused for good, parked instead of blocking the relay', labelNames: ['topic'] }),
);

export const outboxParkedPending = once(
  'tally_outbox_parked',
  () => new Gauge({ name: 'tally_outbox_parked', help: 'Outbox records parked at the last count (see the outbox table: parked_at, park_reason)' }),
);
