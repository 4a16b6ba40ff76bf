import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { TOPIC_SCHEMAS, TOPICS, type UsageThresholdAlert } from '@tally/contracts';
import { OutboxRelay } from '@tally/kafka';
import { KAFKA_CLIENT, SERVICE_CONFIG, SideConsumer, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { AlertLogRepository } from './alert-log.repository';

/**
 * Keeps the alert log for the alerts API, exactly once: rows are written with the offsets of its own consumer
 * group (`<group>-alert-log`). Read back from the topic rather than written where alerts are evaluated, so the
 * log holds exactly what was published (relay and all) and evaluation carries no extra write.
 */
@Injectable()
export class AlertLogConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly consumer: SideConsumer;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    dataSource: DataSource,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    relay: OutboxRelay,
    log: AlertLogRepository,
    logger: JsonLogger,
  ) {
    const topic = TOPICS.alertsUsageThreshold;
    // Thin: the schema validated each alert; the repository writes them.
    this.consumer = new SideConsumer({ config, dataSource, kafka, relay, logger }, 'alert-log', [
      { topic, schema: TOPIC_SCHEMAS[topic], handler: (messages, batch) => log.record(batch.manager, messages.map((m) => m.value as UsageThresholdAlert)) },
    ]);
  }

  get groupId(): string {
    return this.consumer.groupId;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.consumer.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.consumer.stop();
  }
}
