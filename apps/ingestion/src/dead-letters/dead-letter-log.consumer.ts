import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import { DataSource } from 'typeorm';
import { ALL_TOPICS } from '@tally/contracts';
import { OutboxRelay } from '@tally/kafka';
import { KAFKA_CLIENT, SERVICE_CONFIG, SideConsumer, type ServiceConfig } from '@tally/nest-platform';
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
  private readonly consumer: SideConsumer;

  constructor(
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
    dataSource: DataSource,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    relay: OutboxRelay,
    repository: DeadLetterRepository,
    logger: JsonLogger,
  ) {
    this.consumer = new SideConsumer(
      { config, dataSource, kafka, relay, logger },
      'dead-letters',
      DLQ_TOPICS.map((topic) => ({
        topic,
        // The message's bytes are kept as they are; the timestamp is not known to a decoder, so it is read in the handler.
        decode: (value: Buffer) => value,
        handler: (messages, batch) =>
          repository.record(
            batch.manager,
            messages.map((m) => ({ topic, partition: m.partition, offset: m.offset, entry: readDeadLetter(m.value as Buffer, m.headers, m.timestamp) satisfies DeadLetterEntry })),
          ),
      })),
    );
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
