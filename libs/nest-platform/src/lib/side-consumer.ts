import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { dlqTopicFor } from '@tally/contracts';
import {
  createConsumerClientFactory,
  DEFAULT_DEAD_LETTER_LIMITS,
  ensureTopics,
  ExactlyOnceConsumer,
  physicalTopic,
  platformaticSecurityOptions,
  platformaticTopicIdReader,
  retryAtStartup,
  type OutboxRelay,
  type TopicSubscription,
} from '@tally/kafka';
import type { JsonLogger } from '@tally/telemetry';
import type { ServiceConfig } from './service-config';

/** What a service already has that a side consumer runs on. */
export interface SideConsumerDeps {
  config: ServiceConfig;
  dataSource: DataSource;
  kafka: Kafka;
  relay: OutboxRelay;
  logger: JsonLogger;
}

/**
 * An exactly-once consumer beside the service's main one, in its own group `<service group>-<name>`: work that
 * must never hold up the main consumer (webhook deliveries, logs read back from a topic) and whose lag is its
 * own. Same settings, client, dead-lettering and offsets-in-Postgres as the main consumer; the topics it reads
 * (and their DLQs) are created if missing, and joining the group is retried while the broker is away.
 */
export class SideConsumer {
  private consumer?: ExactlyOnceConsumer;
  private topicIds?: ReturnType<typeof platformaticTopicIdReader>;
  private starting?: Promise<void>;
  private readonly logger: JsonLogger;

  constructor(
    private readonly deps: SideConsumerDeps,
    private readonly name: string,
    private readonly subscriptions: TopicSubscription[],
  ) {
    this.logger = deps.logger.child(name);
  }

  get groupId(): string {
    return `${this.deps.config.consumerGroup}-${this.name}`;
  }

  /** Running, or with nothing to consume yet. */
  isHealthy(): boolean {
    return this.consumer?.isHealthy() ?? false;
  }

  /** Idempotent: a second call never starts a second loop. */
  start(): Promise<void> {
    this.starting ??= this.run();
    return this.starting;
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.consumer?.stop();
    await this.topicIds?.close();
  }

  private async run(): Promise<void> {
    const { kafka, config, dataSource, relay } = this.deps;
    const settings = config.kafka;
    const topics = this.subscriptions.map((s) => s.topic);
    const withDlqs = [...new Set([...topics, ...topics.filter((t) => !t.includes('.dlq.')).map(dlqTopicFor)])];
    await ensureTopics(kafka, settings, withDlqs.map((t) => physicalTopic(settings, t)), this.logger);
    this.topicIds = platformaticTopicIdReader({ brokers: settings.brokers, clientId: settings.clientId, connection: platformaticSecurityOptions(settings.security) });
    const consumer = new ExactlyOnceConsumer({
      kafka,
      client: createConsumerClientFactory({ kafka, brokers: settings.brokers, clientId: settings.clientId, security: settings.security, logger: this.logger }),
      settings,
      dataSource,
      groupId: this.groupId,
      subscriptions: this.subscriptions,
      logger: this.logger,
      onOutboxWritten: () => relay.wake(),
      partitionsConsumedConcurrently: config.consumerConcurrency,
      sessionTimeoutMs: config.consumerSessionTimeoutMs,
      fetchMinBytes: config.consumerFetchMinBytes,
      fetchMaxWaitMs: config.consumerFetchMaxWaitMs,
      maxAttempts: config.consumerMaxAttempts,
      deadLetterLimits: { ...DEFAULT_DEAD_LETTER_LIMITS, maxValueBytes: config.deadLetterMaxValueBytes },
      topicIds: this.topicIds,
    });
    this.consumer = consumer;
    await retryAtStartup(
      `joining the ${this.name} consumer group`,
      () => consumer.start().catch(async (e: unknown) => {
        await consumer.stop().catch(() => undefined);
        throw e;
      }),
      { logger: this.logger },
    );
  }
}
