import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type SpanContext } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import type { ZodType } from 'zod';
import { dlqTopicFor, HEADERS } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import { contextFromHeaders, spanContextOf, traceHeaders, type JsonLogger } from '@tally/telemetry';
import { physicalTopic, type KafkaSettings } from './kafka-settings';
import type { EventProducer } from './event-producer';
import { writeOutboxAndOffset, type OutboxRecord } from './outbox';
import { batchDuration, consumedMessages, consumerLag } from './kafka-metrics';

const tracer = trace.getTracer('@tally/kafka');
const KAFKA_COMMIT_INTERVAL_MS = 1000;

export interface ConsumedMessage<T = unknown> {
  /** Logical topic name (without the environment's prefix). */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  headers: Record<string, string>;
  /** Broker timestamp (ms since epoch, as a string). */
  timestamp: string;
  /** The producer's trace context, restored from the W3C headers. */
  traceContext: Context;
}

export interface DerivedEvent {
  /** Logical topic name. */
  topic: string;
  key: string | null;
  value: unknown;
  /** The message this event derives from: its trace continues through the derived event. */
  causedBy?: ConsumedMessage;
}

export interface BatchContext {
  /** The batch's transaction: everything written through it commits together with the offsets. */
  manager: EntityManager;
  /** Queues a derived event; it is written to the outbox in this transaction. */
  emit(event: DerivedEvent): void;
  /** Sends a message that can never be applied to its DLQ (in this transaction) instead of applying it. */
  deadLetter(message: ConsumedMessage, reason: string): void;
}

export type MessageDecoder = (value: Buffer, headers: Record<string, string>) => unknown;

export type BatchHandler<T = unknown> = (messages: ConsumedMessage<T>[], batch: BatchContext) => Promise<void>;

/**
 * How a subscription's derived events and dead letters leave the batch:
 * - `outbox` (default): written to the outbox in the batch's transaction, published by the relay. Exactly
 *   the events of committed batches are ever published.
 * - `direct`: produced to Kafka (idempotent, acks = all) inside the batch's transaction, before its offsets
 *   are stored. A crash between the send and the commit sends the batch's events again, so use it only where
 *   every consumer of the derived topic dedupes by event id and the handler keeps no state beyond offsets
 *   (ingestion's raw path: aggregation's ledger dedupes by (tenant, source, id)). It saves two Postgres
 *   writes and a relay hop per event.
 */
export type DerivedDelivery = 'outbox' | 'direct';

export interface TopicSubscription {
  /** Logical topic name. */
  topic: string;
  /** Messages failing it go to the topic's DLQ with the reason; the partition moves on. */
  schema?: ZodType;
  /**
   * Turns a message's bytes and headers into the value the schema checks (default: the value parsed as
   * JSON). Throwing dead-letters the message with the error's message as the reason.
   */
  decode?: MessageDecoder;
  handler: BatchHandler;
  delivery?: DerivedDelivery;
}

/** Points where a test can inject a crash (e.g. SIGKILL itself) to prove nothing is lost or doubled. */
export interface ConsumerFaultHooks {
  /** Inside the transaction, after the handler and outbox writes, before offsets are stored and committed. */
  beforeCommit?(info: BatchInfo): void | Promise<void>;
  /** After the Postgres commit, before the (informational) Kafka offset commit. */
  afterCommit?(info: BatchInfo): void | Promise<void>;
}

export interface BatchInfo {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  applied: number;
}

export interface ExactlyOnceConsumerOptions {
  kafka: Kafka;
  settings: KafkaSettings;
  dataSource: DataSource;
  groupId: string;
  subscriptions: TopicSubscription[];
  logger: JsonLogger;
  /** Called after a batch committed outbox rows (e.g. to wake the relay). */
  onOutboxWritten?: () => void;
  /** Sends the derived events of `direct` subscriptions. */
  producer?: EventProducer;
  hooks?: ConsumerFaultHooks;
  partitionsConsumedConcurrently?: number;
  maxBytesPerPartition?: number;
  /** How long the group waits for a silent member before rebalancing its partitions away (default 30 s). */
  sessionTimeoutMs?: number;
  /**
   * A fetch returns once this many bytes are there or `fetchMaxWaitMs` passed. Waiting a little for more
   * makes fewer, larger batches — one transaction each — instead of one per trickle of messages
   * (default 16 KiB within 40 ms; minBytes 1 answers every fetch at once).
   */
  fetchMinBytes?: number;
  fetchMaxWaitMs?: number;
}

/**
 * A batch consumer whose source of truth for "what has been applied" is Postgres, not Kafka:
 * for each fetched batch it runs the handler, the outbox writes and the offset update in ONE
 * transaction. On assignment it seeks to the stored offsets; because kafkajs does not await the
 * rebalance listener, the first fetch can still come from an older position, so the transaction also
 * locks the partition's offset row and skips every message below it. A stale consumer therefore can
 * never apply a batch twice, and a crash at any point either loses the whole transaction (the batch is
 * fetched again) or keeps it whole (its messages are skipped when fetched again).
 */
export class ExactlyOnceConsumer {
  private consumer?: Consumer;
  private crashed?: Error;
  private readonly byPhysicalTopic = new Map<string, TopicSubscription>();
  private readonly logger: JsonLogger;
  private readonly lastKafkaCommit = new Map<string, number>();

  constructor(private readonly options: ExactlyOnceConsumerOptions) {
    this.logger = options.logger.child('exactly-once-consumer');
    for (const sub of options.subscriptions) {
      if (sub.delivery === 'direct' && !options.producer) throw new Error(`${sub.topic}: direct delivery needs a producer`);
      this.byPhysicalTopic.set(physicalTopic(options.settings, sub.topic), sub);
    }
  }

  get physicalTopics(): string[] {
    return [...this.byPhysicalTopic.keys()];
  }

  /** Topics this consumer may write dead letters to (so they can be created up front). */
  get dlqTopics(): string[] {
    return this.options.subscriptions.map((s) => physicalTopic(this.options.settings, dlqTopicFor(s.topic)));
  }

  /** Running (or with nothing to consume), and not crashed beyond kafkajs' own restarts. */
  isHealthy(): boolean {
    if (this.byPhysicalTopic.size === 0) return true;
    return this.consumer !== undefined && this.crashed === undefined;
  }

  async start(): Promise<void> {
    if (this.byPhysicalTopic.size === 0) return;
    const { kafka, groupId } = this.options;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 3)),
      minBytes: this.options.fetchMinBytes ?? 16_384,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs ?? 40,
      maxBytesPerPartition: this.options.maxBytesPerPartition ?? 1_048_576,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.seekToStoredOffsets(payload.memberAssignment).catch((e) =>
        this.logger.error('could not seek to stored offsets; the offset-row check still prevents double application', { error: e }),
      );
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.crashed = payload.error;
      this.logger.error('consumer crashed', { error: payload.error, restart: payload.restart, groupId });
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.physicalTopics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }

  private async seekToStoredOffsets(assignment: Record<string, number[]>): Promise<void> {
    const consumer = this.consumer;
    if (!consumer) return;
    const s = schemaOf(this.options.dataSource);
    const topics = Object.keys(assignment);
    if (topics.length === 0) return;
    const rows: Array<{ topic: string; partition: number; next_offset: string }> = await this.options.dataSource.query(
      `SELECT topic, partition, next_offset FROM ${s}.consumer_offsets WHERE group_id = $1 AND topic = ANY($2::text[])`,
      [this.options.groupId, topics],
    );
    for (const row of rows) {
      if (assignment[row.topic]?.includes(row.partition)) {
        consumer.seek({ topic: row.topic, partition: row.partition, offset: row.next_offset });
      }
    }
  }

  private async onBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const sub = this.byPhysicalTopic.get(batch.topic);
    if (!sub) throw new Error(`received a batch for unsubscribed topic ${batch.topic}`);
    const timer = batchDuration.startTimer({ topic: sub.topic });
    const next = await this.applyBatch(sub, batch.topic, batch.partition, batch.messages);
    timer();
    resolveOffset(batch.lastOffset());
    consumerLag.set({ topic: sub.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(next)));
    // Informational only (lag dashboards); Postgres holds the truth, so a failure here is harmless. At most
    // once a second per partition: a commit per batch was a broker request per transaction, which at low
    // load (small batches) was a good part of the broker's CPU.
    const partitionKey = `${batch.topic}:${batch.partition}`;
    if (Date.now() - (this.lastKafkaCommit.get(partitionKey) ?? 0) >= KAFKA_COMMIT_INTERVAL_MS) {
      this.lastKafkaCommit.set(partitionKey, Date.now());
      await this.consumer
        ?.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }])
        .catch((e) => this.logger.warn('Kafka offset commit failed (informational only)', { error: e }));
    }
    await heartbeat();
  }

  /** Applies one partition's batch exactly once; returns the next offset to consume. */
  private async applyBatch(sub: TopicSubscription, physical: string, partition: number, raw: KafkaMessage[]): Promise<string> {
    const { dataSource, groupId, settings } = this.options;
    const s = schemaOf(dataSource);
    const last = raw[raw.length - 1].offset;
    const next = (BigInt(last) + 1n).toString();
    const messages = raw.map((m) => toConsumed(sub.topic, partition, m));
    const links: Link[] = messages.flatMap((m) => {
      const sc = spanContextOf(m.traceContext);
      return sc ? [{ context: sc }] : [];
    });
    // One span per batch, linked to the span of every message in it (a batch has many parents).
    const span = tracer.startSpan(
      `process ${sub.topic}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': physical,
          'messaging.destination.partition.id': String(partition),
          'messaging.batch.message_count': raw.length,
          'messaging.consumer.group.name': groupId,
        },
      },
      ROOT_CONTEXT,
    );
    const batchContext = trace.setSpan(ROOT_CONTEXT, span);
    let wroteOutbox = false;
    let info: BatchInfo | undefined;
    try {
      await context.with(batchContext, () =>
        dataSource.transaction(async (manager) => {
          // One round trip: creates the row on first use, and the no-op update locks it like FOR UPDATE would.
          const [row] = await manager.query(
            `INSERT INTO ${s}.consumer_offsets AS o (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, 0)
             ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = o.next_offset
             RETURNING next_offset`,
            [groupId, physical, partition],
          );
          const stored = BigInt(row.next_offset);
          const fresh = messages.filter((m) => BigInt(m.offset) >= stored);
          const skipped = messages.length - fresh.length;
          if (skipped > 0) consumedMessages.inc({ topic: sub.topic, outcome: 'skipped_stale' }, skipped);
          if (fresh.length === 0) return;

          const outbox: OutboxRecord[] = [];
          const rejected = new Set<ConsumedMessage>();
          const deadLetter = (m: ConsumedMessage, reason: string) => {
            rejected.add(m);
            outbox.push(deadLetterRecord(settings, m, reason, raw.find((r) => r.offset === m.offset)));
          };
          const valid: ConsumedMessage[] = [];
          for (const m of fresh) {
            const problem = decode(m, sub.schema, sub.decode);
            if (problem) deadLetter(m, problem);
            else valid.push(m);
          }
          const emit = (event: DerivedEvent) => outbox.push(derivedRecord(settings, event, span.spanContext()));
          if (valid.length > 0) {
            await sub.handler(valid, { manager, emit, deadLetter });
          }
          info = { topic: sub.topic, partition, firstOffset: fresh[0].offset, lastOffset: last, applied: fresh.length - rejected.size };
          if (sub.delivery === 'direct') {
            // Acknowledged before the offsets below are stored: a crash in between sends them again, never loses them.
            await this.options.producer?.send(outbox);
            await this.options.hooks?.beforeCommit?.(info);
            await manager.query(
              `UPDATE ${s}.consumer_offsets SET next_offset = $4, updated_at = now()
               WHERE group_id = $1 AND topic = $2 AND partition = $3`,
              [groupId, physical, partition, next],
            );
          } else {
            await writeOutboxAndOffset(manager, outbox, { groupId, topic: physical, partition, next });
            wroteOutbox = outbox.length > 0;
            await this.options.hooks?.beforeCommit?.(info);
          }
          consumedMessages.inc({ topic: sub.topic, outcome: 'applied' }, fresh.length - rejected.size);
          if (rejected.size > 0) consumedMessages.inc({ topic: sub.topic, outcome: 'dead_lettered' }, rejected.size);
        }),
      );
      span.setStatus({ code: SpanStatusCode.OK });
    } catch (e) {
      // Not swallowed: the transaction rolled back and kafkajs retries the batch from the stored offset.
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      this.logger.error('batch failed and was rolled back; it will be retried', {
        error: e as Error,
        topic: sub.topic,
        partition,
        firstOffset: raw[0].offset,
        lastOffset: last,
      });
      throw retriable(e as Error);
    } finally {
      span.end();
    }
    if (info) await this.options.hooks?.afterCommit?.(info);
    if (wroteOutbox) this.options.onOutboxWritten?.();
    return next;
  }
}

function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.map(String).join(',') : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value,
    headers,
    timestamp: m.timestamp,
    traceContext: contextFromHeaders(headers),
  };
}

/** Parses and validates in place; returns why the message is unusable, or undefined when it is fine. */
function decode(m: ConsumedMessage, schema: ZodType | undefined, decoder: MessageDecoder | undefined): string | undefined {
  const bytes = m.value as Buffer | null;
  let parsed: unknown;
  if (decoder) {
    try {
      parsed = decoder(bytes ?? Buffer.alloc(0), m.headers);
    } catch (e) {
      return (e as Error).message;
    }
  } else {
    if (!bytes || bytes.length === 0) return 'empty message value';
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      return `value is not JSON: ${(e as Error).message}`;
    }
  }
  if (schema) {
    const result = schema.safeParse(parsed);
    if (!result.success) {
      return `schema validation failed: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
    }
    parsed = result.data;
  }
  m.value = parsed;
  return undefined;
}

function deadLetterRecord(settings: KafkaSettings, m: ConsumedMessage, reason: string, original: KafkaMessage | undefined): OutboxRecord {
  const bytes = original?.value ?? null;
  return {
    topic: physicalTopic(settings, dlqTopicFor(m.topic)),
    key: m.key,
    value: JSON.stringify({
      reason,
      source: { topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp },
      key: m.key,
      headers: m.headers,
      value: bytes ? bytes.toString('utf8') : null,
      valueBase64: bytes ? bytes.toString('base64') : null,
      deadLetteredAt: new Date().toISOString(),
    }),
    headers: { ...m.headers, [HEADERS.dlqReason]: reason.slice(0, 500) },
  };
}

function derivedRecord(settings: KafkaSettings, event: DerivedEvent, batchSpan: SpanContext): OutboxRecord {
  let headers: Record<string, string>;
  if (event.causedBy && spanContextOf(event.causedBy.traceContext)) {
    // The derived event continues its cause's trace; the link ties it to the batch that produced it.
    const span = tracer.startSpan(
      `produce ${event.topic}`,
      { kind: SpanKind.PRODUCER, links: [{ context: batchSpan }], attributes: { 'messaging.destination.name': event.topic } },
      event.causedBy.traceContext,
    );
    headers = traceHeaders(trace.setSpan(event.causedBy.traceContext, span));
    span.end();
  } else {
    headers = traceHeaders();
  }
  const tenant = (event.value as { tenant?: unknown })?.tenant;
  if (typeof tenant === 'string') headers[HEADERS.tenant] = tenant;
  return { topic: physicalTopic(settings, event.topic), key: event.key, value: JSON.stringify(event.value), headers };
}

/**
 * A failed batch rolled back whole, so retrying it is always safe. kafkajs would stop consuming for good
 * (and never restart) on an error it marks non-retriable, e.g. a produce error from a `direct` send; mark
 * every batch failure retriable instead, so kafkajs retries it with backoff and then restarts the consumer.
 */
function retriable(e: Error): Error {
  if ((e as { retriable?: boolean }).retriable === true) return e;
  // No `cause`: kafkajs reads retriable from the innermost cause.
  return Object.assign(new Error(`batch failed: ${e.message}`), { name: 'BatchFailed', retriable: true, original: e });
}
