import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { JsonLogger } from '@tally/telemetry';
import type { BatchConsumerClient, BatchConsumerClientOptions, BatchConsumerHandlers, FetchedRecord } from './consumer-client';

/**
 * The exactly-once consumer on kafkajs. kafkajs does not await its GROUP_JOIN listener, so the first fetch
 * after an assignment can still come from an older position; the core skips what Postgres says it applied.
 * A rejected batch is thrown back to kafkajs marked retriable: kafkajs then fetches the partition again from
 * the last resolved offset after its retry backoff (and restarts the consumer when its retries run out).
 */
export class KafkajsConsumerClient implements BatchConsumerClient {
  private consumer?: Consumer;
  private crashed?: Error;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: BatchConsumerClientOptions,
    private readonly logger: JsonLogger,
  ) {}

  isHealthy(): boolean {
    return this.consumer !== undefined && this.crashed === undefined;
  }

  async start(handlers: BatchConsumerHandlers): Promise<void> {
    const o = this.options;
    const consumer = this.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      minBytes: o.fetchMinBytes,
      maxWaitTimeInMs: o.fetchMaxWaitMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
      handlers
        .startOffsets(assigned)
        .then((offsets) => {
          for (const { topic, partition } of assigned) {
            const offset = offsets.get(`${topic}:${partition}`);
            if (offset !== undefined) consumer.seek({ topic, partition, offset });
          }
        })
        .catch((e) => this.logger.error('could not seek to stored offsets; the offset-row check still prevents double application', { error: e }));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.crashed = payload.error;
      this.logger.error('consumer crashed', { error: payload.error, restart: payload.restart, groupId: o.groupId });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: o.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.onBatch(payload, handlers),
    });
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    await this.consumer?.commitOffsets([{ topic, partition, offset: nextOffset }]);
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload, handlers: BatchConsumerHandlers): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    try {
      await handlers.onBatch({
        topic: batch.topic,
        partition: batch.partition,
        records: batch.messages.map(toFetchedRecord),
        highWatermark: batch.highWatermark,
      });
    } catch (e) {
      throw retriable(e as Error);
    }
    resolveOffset(batch.lastOffset());
    await heartbeat();
  }
}

export function toFetchedRecord(m: KafkaMessage): FetchedRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === undefined) continue;
    // A header without a value arrives as null: an empty string, as the other client gives it (not "null").
    const text = (v: unknown) => (v === null ? '' : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
    headers[name] = Array.isArray(value) ? value.map(text).join(',') : text(value);
  }
  return { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers, timestamp: m.timestamp };
}

/**
 * A rejected batch left nothing behind, so retrying it is always safe. kafkajs would stop consuming for good
 * (and never restart) on an error it marks non-retriable, e.g. a produce error from a `direct` send; mark
 * every batch failure retriable instead, so kafkajs retries it with backoff and then restarts the consumer.
 */
function retriable(e: Error): Error {
  if ((e as { retriable?: boolean }).retriable === true) return e;
  // No `cause`: kafkajs reads retriable from the innermost cause.
  return Object.assign(new Error(`batch failed: ${e.message}`), { name: 'BatchFailed', retriable: true, original: e });
}
