import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { dlqTopicFor, TOPIC_SCHEMAS, TOPICS, type UsageThresholdAlert } from '@tally/contracts';
import {
  createConsumerClientFactory,
  DEFAULT_DEAD_LETTER_LIMITS,
  ensureTopics,
  ExactlyOnceConsumer,
  OutboxRelay,
  physicalTopic,
  platformaticSecurityOptions,
  platformaticTopicIdReader,
  retryAtStartup,
} from '@tally/kafka';
import { KAFKA_CLIENT, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { AlertLogRepository } from './alert-log.repository';

/**
 * Keeps the alert log for the alerts API, exactly once: rows are written with the offsets of its own consumer
 * group (`<group>-alert-log`). Read back from the topic rather than written where alerts are evaluated, so the
 * log holds exactly what was published (relay and all) and evaluation carries no extra write.
 */
@Injectable()
export class AlertLogConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer?: ExactlyOnceConsumer;
  private topicIds?: ReturnType<typeof platformaticTopicIdReader>;
  private starting?: Promise<void>;
  private readonly logger: JsonLogger;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly relay: OutboxRelay,
    private readonly log: AlertLogRepository,
    logger: JsonLogger,
  ) {
    this.logger = logger.child('alert-log');
  }

  get groupId(): string {
    return `${this.config.consumerGroup}-alert-log`;
  }

  onApplicationBootstrap(): Promise<void> {
    // Idempotent: a second call never starts a second loop.
    this.starting ??= this.start();
    return this.starting;
  }

  async onModuleDestroy(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await this.consumer?.stop();
    await this.topicIds?.close();
  }

  private async start(): Promise<void> {
    const { kafka, config } = this;
    const settings = config.kafka;
    const topic = TOPICS.alertsUsageThreshold;
    await ensureTopics(kafka, settings, [topic, dlqTopicFor(topic)].map((t) => physicalTopic(settings, t)), this.logger);
    this.topicIds = platformaticTopicIdReader({ brokers: settings.brokers, clientId: settings.clientId, connection: platformaticSecurityOptions(settings.security) });
    const consumer = new ExactlyOnceConsumer({
      kafka,
      client: createConsumerClientFactory({ kafka, brokers: settings.brokers, clientId: settings.clientId, security: settings.security, logger: this.logger }),
      settings,
      dataSource: this.dataSource,
      groupId: this.groupId,
      // Thin: the schema validated each alert; the repository writes them.
      subscriptions: [{ topic, schema: TOPIC_SCHEMAS[topic], handler: (messages, batch) => this.log.record(batch.manager, messages.map((m) => m.value as UsageThresholdAlert)) }],
      logger: this.logger,
      onOutboxWritten: () => this.relay.wake(),
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
      'joining the alert-log consumer group',
      () => consumer.start().catch(async (e: unknown) => {
        await consumer.stop().catch(() => undefined);
        throw e;
      }),
      { logger: this.logger },
    );
  }
}
