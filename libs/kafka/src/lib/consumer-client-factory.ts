import type { Kafka } from 'kafkajs';
import type { JsonLogger } from '@tally/telemetry';
import type { BatchConsumerClientFactory } from './consumer-client';
import type { KafkaSecurity } from './kafka-security';
import { KafkajsConsumerClient } from './kafkajs-consumer-client';
import { PlatformaticConsumerClient } from './platformatic-consumer-client';

// Re-exported here so the package index needs a single line for the factory and the alternative client.
export { PlatformaticConsumerClient, type PlatformaticConsumerConnection } from './platformatic-consumer-client';

export const CONSUMER_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type ConsumerClientName = (typeof CONSUMER_CLIENTS)[number];

/** `KAFKA_CONSUMER_CLIENT`: which Kafka client consumes (kafkajs unless told otherwise, see ADR 0005). Unknown values throw. */
export function consumerClientName(env: NodeJS.ProcessEnv = process.env): ConsumerClientName {
  const value = env.KAFKA_CONSUMER_CLIENT?.trim() || 'kafkajs';
  if (!(CONSUMER_CLIENTS as readonly string[]).includes(value)) {
    throw new Error(`KAFKA_CONSUMER_CLIENT must be one of ${CONSUMER_CLIENTS.join(', ')} (got "${value}")`);
  }
  return value as ConsumerClientName;
}

export interface ConsumerClientFactoryDeps {
  /** The kafkajs client (used by the kafkajs consumer). */
  kafka: Kafka;
  /** Broker list and client id (used by the @platformatic/kafka consumer, which opens its own connections). */
  brokers: string[];
  clientId: string;
  /** TLS and SASL for the @platformatic/kafka consumer's connections (the kafkajs client has its own). */
  security?: KafkaSecurity;
  logger: JsonLogger;
}

/**
 * The factory of the exactly-once consumer's Kafka client, chosen by `KAFKA_CONSUMER_CLIENT`. The env is read
 * (and validated) here, once, so a bad value stops the service at boot rather than at its first consumer.
 */
export function createConsumerClientFactory(deps: ConsumerClientFactoryDeps, env: NodeJS.ProcessEnv = process.env): BatchConsumerClientFactory {
  switch (consumerClientName(env)) {
    case 'kafkajs':
      return (options) => new KafkajsConsumerClient(deps.kafka, options, deps.logger);
    case 'platformatic':
      return (options) => new PlatformaticConsumerClient({ brokers: deps.brokers, clientId: deps.clientId, security: deps.security }, options, deps.logger);
  }
}
