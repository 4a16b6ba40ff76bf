import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { dlqTopicFor, TOPIC_SCHEMAS, type Envelope } from '@tally/contracts';
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
  type BatchContext,
  type ConsumedMessage,
} from '@tally/kafka';
import { KAFKA_CLIENT, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { kindOfTopic, planDeliveries, WEBHOOK_TOPICS } from './domain/event-kinds';
import { WebhookDispatcher } from './webhook-dispatcher';
import { webhookDeliveriesCreated } from './webhook-metrics';
import { WebhookRepository } from './webhook.repository';

/**
 * Turns alerts, invoices and churn-risk events into webhook deliveries, exactly once: the delivery rows are written
 * in the batch's transaction together with the offsets of its own consumer group (`<group>-webhooks`), apart from
 * alert evaluation's group, so webhook work never holds up the evaluation of usage (and its lag is its own).
 */
@Injectable()
export class WebhookEventsConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer?: ExactlyOnceConsumer;
  private topicIds?: ReturnType<typeof platformaticTopicIdReader>;
  private starting?: Promise<void>;
  private readonly logger: JsonLogger;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly relay: OutboxRelay,
    private readonly repository: WebhookRepository,
    private readonly dispatcher: WebhookDispatcher,
    logger: JsonLogger,
  ) {
    this.logger = logger.child('webhooks');
  }

  get groupId(): string {
    return `${this.config.consumerGroup}-webhooks`;
  }

  /** Running, or with nothing to consume yet. */
  isHealthy(): boolean {
    return this.consumer?.isHealthy() ?? false;
  }

  onApplicationBootstrap(): Promise<void> {
    // Idempotent: a second call never starts a second loop (Nest calls it once per app; checked for this hybrid app).
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
    await ensureTopics(kafka, settings, [...WEBHOOK_TOPICS, ...WEBHOOK_TOPICS.map(dlqTopicFor)].map((t) => physicalTopic(settings, t)), this.logger);
    this.topicIds = platformaticTopicIdReader({ brokers: settings.brokers, clientId: settings.clientId, connection: platformaticSecurityOptions(settings.security) });
    const consumer = new ExactlyOnceConsumer({
      kafka,
      client: createConsumerClientFactory({ kafka, brokers: settings.brokers, clientId: settings.clientId, security: settings.security, logger: this.logger }),
      settings,
      dataSource: this.dataSource,
      groupId: this.groupId,
      subscriptions: WEBHOOK_TOPICS.map((topic) => ({ topic, schema: TOPIC_SCHEMAS[topic], handler: (messages, batch) => this.onBatch(topic, messages, batch) })),
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
      'joining the webhooks consumer group',
      () => consumer.start().catch(async (e: unknown) => {
        await consumer.stop().catch(() => undefined);
        throw e;
      }),
      { logger: this.logger },
    );
  }

  /** Thin: the plan is pure (domain/event-kinds); this reads the tenants' endpoints and writes the rows. */
  private async onBatch(topic: string, messages: ConsumedMessage[], batch: BatchContext): Promise<void> {
    const events = messages.map((m) => {
      const value = m.value as Envelope;
      return { topic, eventId: value.eventId, tenant: value.tenant, occurredAt: value.occurredAt, publishedAtMs: Number(m.timestamp), value: m.value };
    });
    const endpoints = await this.repository.subscriptions(batch.manager, [...new Set(events.map((e) => e.tenant))]);
    const planned = planDeliveries(events, endpoints);
    const created = await this.repository.insertDeliveries(batch.manager, planned);
    if (created === 0) return;
    batch.onCommitted(() => {
      webhookDeliveriesCreated.inc({ kind: kindOfTopic(topic) ?? topic }, created);
      this.dispatcher.wake();
    });
  }
}
