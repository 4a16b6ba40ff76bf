import type { Kafka } from 'kafkajs';
import { DEFAULT_KAFKA_COMPRESSION, type KafkaCompression } from './compression';
import { KafkajsEventProducer, type EventProducer } from './event-producer';
import type { KafkaSecurity } from './kafka-security';
import { PlatformaticEventProducer } from './platformatic-event-producer';

// Re-exported here so the package index needs a single line for both the factory and the alternative client.
export { PlatformaticEventProducer, type PlatformaticEventProducerOptions } from './platformatic-event-producer';

export const EVENT_PRODUCER_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type EventProducerClient = (typeof EVENT_PRODUCER_CLIENTS)[number];

/** `KAFKA_PRODUCER_CLIENT`: which Kafka client publishes (kafkajs unless told otherwise). Unknown values throw. */
export function eventProducerClient(env: NodeJS.ProcessEnv = process.env): EventProducerClient {
  const value = env.KAFKA_PRODUCER_CLIENT?.trim() || 'kafkajs';
  if (!(EVENT_PRODUCER_CLIENTS as readonly string[]).includes(value)) {
    throw new Error(`KAFKA_PRODUCER_CLIENT must be one of ${EVENT_PRODUCER_CLIENTS.join(', ')} (got "${value}")`);
  }
  return value as EventProducerClient;
}

/**
 * The producer behind `EventProducer`, chosen by `KAFKA_PRODUCER_CLIENT`, compressing with `compression`
 * (the service config's validated `KAFKA_COMPRESSION`); consumers stay on kafkajs.
 */
export function createEventProducer(
  kafka: Kafka,
  brokers: string[],
  clientId: string,
  env: NodeJS.ProcessEnv = process.env,
  compression: KafkaCompression = DEFAULT_KAFKA_COMPRESSION,
  security?: KafkaSecurity,
): EventProducer {
  switch (eventProducerClient(env)) {
    case 'kafkajs':
      return new KafkajsEventProducer(kafka, { compression });
    case 'platformatic':
      return new PlatformaticEventProducer({ brokers, clientId, compression, security });
  }
}
