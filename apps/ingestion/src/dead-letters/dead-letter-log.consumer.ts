import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ALL_TOPICS } from '@tally/contracts';
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
import { readDeadLetter, type DeadLetterEntry } from './dead-letter-entry';
import { DeadLetterRepository } from './dead-letter.repository';

/** Every DLQ topic of the system (`<topic>.dlq.v<N>`, the usage DLQ once). */
export const DLQ_TOPICS: readonly string[] = ALL_TOPICS.filter((t) => t.includes('.dlq.'));

/**
 * Keeps every dead letter for the dead-letters API, exactly once: rows are written with the offsets of its own
 * consumer group (`<group>-dead-letters`). Ingestion holds them because it owns the usage DLQ (raw and canonical
 * events) and the tenants; the other DLQs are few and read here too so operators have one place to look. The
 * decoder never throws, so no dead letter is ever dead-lettered again (which would only hide it).
 */
@Injectable()
export class DeadLetterLogConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer?: ExactlyOnceConsumer;
  private topicIds?: ReturnType<typeof platformaticTopicIdReader>;
  private starting?: Promise<void>;
  private readonly logger: JsonLogger;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    private readonly dataSource: DataSource,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly relay: OutboxRelay,
    private readonly repository: DeadLetterRepository,
    logger: JsonLogger,
  ) {
    this.logger = logger.child('dead-letters');
  }

  get groupId(): string {
    return `${this.config.consumerGroup}-dead-letters`;
  }

  onApplicationBootstrap(): Promise<void> {
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
    await ensureTopics(kafka, settings, DLQ_TOPICS.map((t) => physicalTopic(settings, t)), this.logger);
    this.topicIds = platformaticTopicIdReader({ brokers: settings.brokers, clientId: settings.clientId, connection: platformaticSecurityOptions(settings.security) });
    const consumer = new ExactlyOnceConsumer({
      kafka,
      client: createConsumerClientFactory({ kafka, brokers: settings.brokers, clientId: settings.clientId, security: settings.security, logger: this.logger }),
      settings,
      dataSource: this.dataSource,
      groupId: this.groupId,
      subscriptions: DLQ_TOPICS.map((topic) => ({
        topic,
        // The message's bytes are kept as they are; the timestamp is not known to a decoder, so it is read in the handler.
        decode: (value: Buffer) => value,
        handler: (messages, batch) =>
          this.repository.record(
            batch.manager,
            messages.map((m) => ({ topic, partition: m.partition, offset: m.offset, entry: readDeadLetter(m.value as Buffer, m.headers, m.timestamp) satisfies DeadLetterEntry })),
          ),
      })),
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
      'joining the dead-letters consumer group',
      () => consumer.start().catch(async (e: unknown) => {
        await consumer.stop().catch(() => undefined);
        throw e;
      }),
      { logger: this.logger },
    );
  }
}
