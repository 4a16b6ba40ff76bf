import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { TOPIC_SCHEMAS, type Envelope } from '@tally/contracts';
import { OutboxRelay, type BatchContext, type ConsumedMessage } from '@tally/kafka';
import { KAFKA_CLIENT, SERVICE_CONFIG, SideConsumer, type ServiceConfig } from '@tally/nest-platform';
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
  private readonly consumer: SideConsumer;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    dataSource: DataSource,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    relay: OutboxRelay,
    private readonly repository: WebhookRepository,
    private readonly dispatcher: WebhookDispatcher,
    logger: JsonLogger,
  ) {
    this.consumer = new SideConsumer(
      { config, dataSource, kafka, relay, logger },
      'webhooks',
      WEBHOOK_TOPICS.map((topic) => ({ topic, schema: TOPIC_SCHEMAS[topic], handler: (messages, batch) => this.onBatch(topic, messages, batch) })),
    );
  }

  get groupId(): string {
    return this.consumer.groupId;
  }

  /** Running, or with nothing to consume yet. */
  isHealthy(): boolean {
    return this.consumer.isHealthy();
  }

  onApplicationBootstrap(): Promise<void> {
    return this.consumer.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.consumer.stop();
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
