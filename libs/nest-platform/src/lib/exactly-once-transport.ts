import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ALL_TOPICS, TOPIC_DECODERS, TOPIC_SCHEMAS } from '@tally/contracts';
import {
  ensureTopics,
  ExactlyOnceConsumer,
  physicalTopic,
  retryAtStartup,
  type BatchContext,
  type ConsumedMessage,
  type ConsumerFaultHooks,
  type DerivedDelivery,
  type EventProducer,
  type KafkaSettings,
  type OutboxRelay,
  type BatchConsumerClientFactory,
  type DeadLetterLimits,
  type TopicIdReader,
  type TopicSubscription,
} from '@tally/kafka';
import type { JsonLogger } from '@tally/telemetry';

/** What an `@EventPattern(topic)` handler receives: the batch's valid messages and its transaction. */
export interface ConsumedBatch<T = unknown> extends BatchContext {
  messages: ConsumedMessage<T>[];
}

export interface ExactlyOnceTransportOptions {
  kafka: Kafka;
  settings: KafkaSettings;
  dataSource: DataSource;
  groupId: string;
  relay: OutboxRelay;
  /** For handlers declared with `{ delivery: 'direct' }`. */
  producer?: EventProducer;
  logger: JsonLogger;
  hooks?: ConsumerFaultHooks;
  concurrency?: number;
  sessionTimeoutMs?: number;
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
  /** Ties stored offsets to topic ids, so a recreated topic is refused rather than read from stale offsets. */
  topicIds?: TopicIdReader;
  /** The Kafka client library consuming (KAFKA_CONSUMER_CLIENT); kafkajs on `kafka` when not given. */
  client?: BatchConsumerClientFactory;
  maxAttempts?: number;
  deadLetterLimits?: DeadLetterLimits;
}

/**
 * Nest transport strategy on top of the exactly-once batch consumer. Services declare consumers the
 * Nest way (`@EventPattern(TOPICS.usageEvents)` on a controller method taking a `ConsumedBatch`); the
 * stock Kafka server (one message at a time, auto-commit, endless retry of a bad message) is not used.
 */
export class ExactlyOnceKafkaTransport extends Server implements CustomTransportStrategy {
  private consumer?: ExactlyOnceConsumer;

  constructor(private readonly options: ExactlyOnceTransportOptions) {
    super();
  }

  isHealthy(): boolean {
    return this.options.relay.isRunning && (this.consumer?.isHealthy() ?? false);
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      const { kafka, settings } = this.options;
      // `@EventPattern(topic, { delivery: 'direct' })` opts a handler out of the outbox (see DerivedDelivery).
      const subscriptions: TopicSubscription[] = [...this.getHandlers()].map(([topic, handler]) => ({
        topic,
        schema: TOPIC_SCHEMAS[topic],
        decode: TOPIC_DECODERS[topic],
        handler: (messages, batch) => this.dispatch(topic, messages, batch),
        delivery: deliveryOf(topic, handler.extras),
      }));
      await ensureTopics(kafka, settings, ALL_TOPICS.map((t) => physicalTopic(settings, t)), this.options.logger);
      this.options.relay.start();
      this.consumer = new ExactlyOnceConsumer({
        kafka,
        settings,
        dataSource: this.options.dataSource,
        groupId: this.options.groupId,
        subscriptions,
        logger: this.options.logger,
        hooks: this.options.hooks,
        partitionsConsumedConcurrently: this.options.concurrency,
        sessionTimeoutMs: this.options.sessionTimeoutMs,
        fetchMinBytes: this.options.fetchMinBytes,
        fetchMaxWaitMs: this.options.fetchMaxWaitMs,
        topicIds: this.options.topicIds,
        client: this.options.client,
        maxAttempts: this.options.maxAttempts,
        deadLetterLimits: this.options.deadLetterLimits,
        onOutboxWritten: () => this.options.relay.wake(),
        producer: this.options.producer,
      });
      const consumer = this.consumer;
      // A fresh broker answers "the coordinator is loading" for a while: wait it out, starting over cleanly.
      await retryAtStartup(
        'joining the consumer group',
        () => consumer.start().catch(async (e: unknown) => {
          await consumer.stop().catch(() => undefined);
          throw e;
        }),
        { logger: this.options.logger },
      );
      callback();
    } catch (e) {
      callback(e);
    }
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
    await this.options.relay.stop();
  }

  on(): void {
    throw new Error('ExactlyOnceKafkaTransport does not emit status events');
  }

  unwrap<T>(): T {
    return this.consumer as T;
  }

  private async dispatch(topic: string, messages: ConsumedMessage[], batch: BatchContext): Promise<void> {
    const handler = this.getHandlerByPattern(topic);
    if (!handler) throw new Error(`no handler for ${topic}`);
    const payload: ConsumedBatch = { ...batch, messages };
    await lastValueFrom(this.transformToObservable(await handler(payload)), { defaultValue: undefined });
  }
}
export type { ConsumedMessage, BatchContext } from '@tally/kafka';

function deliveryOf(topic: string, extras: Record<string, unknown> | undefined): DerivedDelivery | undefined {
  const delivery = extras?.['delivery'];
  if (delivery === undefined || delivery === 'outbox' || delivery === 'direct') return delivery;
  throw new Error(`@EventPattern(${topic}): delivery must be 'outbox' or 'direct' (got ${String(delivery)})`);
}
