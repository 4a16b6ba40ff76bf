import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type SpanContext } from '@opentelemetry/api';
import type { Kafka } from 'kafkajs';
import type { DataSource, EntityManager } from 'typeorm';
import type { ZodType } from 'zod';
import { dlqTopicFor, fastAcceptFor, HEADERS } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import { contextFromHeaders, spanContextOf, traceHeaders, type JsonLogger } from '@tally/telemetry';
import { physicalTopic, type KafkaSettings } from './kafka-settings';
import type { EventProducer } from './event-producer';
import { writeOutboxAndOffset, type OutboxRecord } from './outbox';
import { batchDuration, consumedMessages, consumerLag, consumerRetries, deadLetters } from './kafka-metrics';
import type { BatchConsumerClient, BatchConsumerClientFactory, FetchedBatch, FetchedRecord, TopicPartition } from './consumer-client';
import { KafkajsConsumerClient } from './kafkajs-consumer-client';
import { deadLetterHeaders, deadLetterValue, DEFAULT_DEAD_LETTER_LIMITS, type DeadLetterLimits } from './dead-letter';
import { describeFailure, failureKind } from './failure-kind';
import type { TopicIdReader } from './topic-ids';

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
  /** The bytes as fetched, for dead letters. */
  raw: FetchedRecord;
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
  /**
   * Runs `fn` once the batch's transaction has committed (never if it rolls back or is retried): for
   * in-memory state that must only ever show committed writes. An error in `fn` is logged; the batch stays committed.
   */
  onCommitted(fn: () => void): void;
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
  /** The kafkajs client, used unless `client` names another Kafka client library. */
  kafka: Kafka;
  /** Which Kafka client library fetches (default: kafkajs on `kafka`). */
  client?: BatchConsumerClientFactory;
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
  /**
   * How often a batch (and then each message of it) is tried when it fails for a reason other than an
   * unreachable Postgres or broker, before the failing message is isolated and dead-lettered (default 3).
   */
  maxAttempts?: number;
  /** First pause between attempts; doubles each time (default 100 ms). */
  retryBackoffMs?: number;
  deadLetterLimits?: DeadLetterLimits;
  /**
   * Reads the broker's topic ids. Given, every stored offset is tied to the id of the topic it was read from,
   * and a partition of a topic that was deleted and created again (a reset broker, a restored cluster) is
   * refused rather than read from a stale offset (which would silently skip or re-read messages).
   */
  topicIds?: TopicIdReader;
}

/** Stored offsets belong to an earlier topic of the same name: consuming would skip or misapply messages. */
export class TopicRecreatedError extends Error {
  readonly code = 'TALLY_TOPIC_RECREATED';

  constructor(
    readonly topic: string,
    readonly storedTopicId: string,
    readonly currentTopicId: string,
    groupId: string,
  ) {
    super(
      `topic ${topic} was deleted and created again (stored offsets belong to topic id ${storedTopicId}, the broker's topic has id ${currentTopicId}); ` +
        `consumer group ${groupId} will not read it from those offsets. If the new topic should be read from its beginning, ` +
        `stop the service and run: npm run offsets:reset -- --service <this service> --topic ${topic}`,
    );
    this.name = 'TopicRecreatedError';
  }
}

/** One message of a batch, decoded once: either its value is ready for the handler or it says why not. */
interface DecodedMessage {
  message: ConsumedMessage;
  problem?: string;
}

/** A dead letter's reason and the kind counted in `tally_dead_letters_total`. */
interface Rejection {
  reason: string;
  kind: 'undecodable' | 'schema' | 'rejected' | 'poison';
}

/**
 * A batch consumer whose source of truth for "what has been applied" is Postgres, not Kafka:
 * for each fetched batch it runs the handler, the outbox writes and the offset update in ONE
 * transaction. On assignment it seeks to the stored offsets; because a client may deliver an older batch
 * first (kafkajs does not await its rebalance listener), the transaction also locks the partition's offset
 * row and skips every message below it. A stale consumer therefore can never apply a batch twice, and a
 * crash at any point either loses the whole transaction (the batch is fetched again) or keeps it whole
 * (its messages are skipped when fetched again).
 *
 * No single message can stop a partition. A message that cannot be decoded or fails its schema is
 * dead-lettered in the batch's transaction. A batch that fails for another reason is retried a bounded
 * number of times; if it still fails it is split in halves, each applied in its own transaction, down to
 * the one message that keeps failing, which is dead-lettered with the error (its offset is stored with the
 * dead letter, so it is never retried again) while every other message is applied exactly once. Failures
 * of Postgres or the broker themselves (connections, restarts, conflicts) are never isolated: the batch is
 * handed back to the client, which fetches it again after a backoff.
 */
export class ExactlyOnceConsumer {
  private client?: BatchConsumerClient;
  private readonly byPhysicalTopic = new Map<string, TopicSubscription>();
  private readonly logger: JsonLogger;
  private readonly lastKafkaCommit = new Map<string, number>();
  /** Per partition, the commit that follows its last batch when that batch's own commit was skipped. */
  private readonly trailingKafkaCommits = new Map<string, { timer: NodeJS.Timeout; commit: () => Promise<void> }>();
  private readonly maxAttempts: number;
  private readonly retryBackoffMs: number;
  private readonly deadLetterLimits: DeadLetterLimits;
  /** The broker's id of each subscribed topic, as last read. */
  private readonly currentTopicIds = new Map<string, string>();
  private readonly recreatedTopics = new Map<string, TopicRecreatedError>();

  constructor(private readonly options: ExactlyOnceConsumerOptions) {
    this.logger = options.logger.child('exactly-once-consumer');
    for (const sub of options.subscriptions) {
      if (sub.delivery === 'direct' && !options.producer) throw new Error(`${sub.topic}: direct delivery needs a producer`);
      this.byPhysicalTopic.set(physicalTopic(options.settings, sub.topic), sub);
    }
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryBackoffMs = Math.max(0, options.retryBackoffMs ?? 100);
    this.deadLetterLimits = options.deadLetterLimits ?? DEFAULT_DEAD_LETTER_LIMITS;
  }

  get physicalTopics(): string[] {
    return [...this.byPhysicalTopic.keys()];
  }

  /** Topics this consumer may write dead letters to (so they can be created up front). */
  get dlqTopics(): string[] {
    return this.options.subscriptions.map((s) => physicalTopic(this.options.settings, dlqTopicFor(s.topic)));
  }

  /** Running (or with nothing to consume), its client has not stopped for good, and no topic was recreated under it. */
  isHealthy(): boolean {
    if (this.byPhysicalTopic.size === 0) return true;
    return (this.client?.isHealthy() ?? false) && this.recreatedTopics.size === 0;
  }

  /** Why the consumer refuses topics (empty when it does not). */
  get refusedTopics(): TopicRecreatedError[] {
    return [...this.recreatedTopics.values()];
  }

  async start(): Promise<void> {
    if (this.byPhysicalTopic.size === 0) return;
    const o = this.options;
    const sessionTimeoutMs = o.sessionTimeoutMs ?? 30_000;
    const clientOptions = {
      groupId: o.groupId,
      topics: this.physicalTopics,
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
      fetchMinBytes: o.fetchMinBytes ?? 16_384,
      fetchMaxWaitMs: o.fetchMaxWaitMs ?? 40,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1_048_576,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
    };
    await this.refreshTopicIds(this.physicalTopics);
    this.client = o.client ? o.client(clientOptions) : new KafkajsConsumerClient(o.kafka, clientOptions, o.logger);
    await this.client.start({
      startOffsets: (assigned) => this.storedOffsets(assigned),
      onBatch: (batch) => this.onBatch(batch),
    });
  }

  async stop(): Promise<void> {
    // Committed before leaving the group, so a stopped (or scaled-in) member leaves Kafka's offsets exact.
    const trailing = [...this.trailingKafkaCommits.values()];
    this.trailingKafkaCommits.clear();
    for (const t of trailing) clearTimeout(t.timer);
    await Promise.all(trailing.map((t) => t.commit()));
    const client = this.client;
    this.client = undefined;
    await client?.stop();
  }

  private async refreshTopicIds(topics: string[]): Promise<void> {
    if (!this.options.topicIds) return;
    try {
      for (const [topic, id] of await this.options.topicIds(topics)) this.currentTopicIds.set(topic, id);
    } catch (e) {
      // Without fresh ids the last known ones are checked; a recreation is then caught at the next assignment.
      this.logger.warn('could not read topic ids; checking stored offsets against the last known ones', { error: e as Error });
    }
  }

  private async storedOffsets(assigned: TopicPartition[]): Promise<Map<string, string>> {
    const offsets = new Map<string, string>();
    const topics = [...new Set(assigned.map((a) => a.topic))];
    if (topics.length === 0) return offsets;
    await this.refreshTopicIds(topics);
    const s = schemaOf(this.options.dataSource);
    const rows: Array<{ topic: string; partition: number; next_offset: string; topic_id: string | null }> = await this.options.dataSource.query(
      `SELECT topic, partition, next_offset, topic_id FROM ${s}.consumer_offsets WHERE group_id = $1 AND topic = ANY($2::text[])`,
      [this.options.groupId, topics],
    );
    const wanted = new Set(assigned.map((a) => `${a.topic}:${a.partition}`));
    for (const row of rows) {
      const key = `${row.topic}:${row.partition}`;
      if (!wanted.has(key)) continue;
      const current = this.currentTopicIds.get(row.topic);
      if (row.topic_id && current && row.topic_id !== current) {
        this.refuseTopic(new TopicRecreatedError(row.topic, row.topic_id, current, this.options.groupId));
        continue;
      }
      offsets.set(key, String(row.next_offset));
    }
    return offsets;
  }

  private refuseTopic(error: TopicRecreatedError): void {
    if (!this.recreatedTopics.has(error.topic)) this.logger.error(error.message, { topic: error.topic, groupId: this.options.groupId });
    this.recreatedTopics.set(error.topic, error);
  }

  private async onBatch(batch: FetchedBatch): Promise<string> {
    const sub = this.byPhysicalTopic.get(batch.topic);
    if (!sub) throw new Error(`received a batch for unsubscribed topic ${batch.topic}`);
    const timer = batchDuration.startTimer({ topic: sub.topic });
    const next = await this.applyBatch(sub, batch);
    timer();
    consumerLag.set({ topic: sub.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(next)));
    // Informational only (lag dashboards); Postgres holds the truth, so a failure here is harmless. At most
    // once a second per partition: a commit per batch was a broker request per transaction, which at low
    // load (small batches) was a good part of the broker's CPU.
    const partitionKey = `${batch.topic}:${batch.partition}`;
    const trailing = this.trailingKafkaCommits.get(partitionKey);
    if (Date.now() - (this.lastKafkaCommit.get(partitionKey) ?? 0) >= KAFKA_COMMIT_INTERVAL_MS) {
      if (trailing) clearTimeout(trailing.timer);
      this.trailingKafkaCommits.delete(partitionKey);
      this.lastKafkaCommit.set(partitionKey, Date.now());
      await this.client
        ?.commit(batch.topic, batch.partition, next)
        .catch((e) => this.logger.warn('Kafka offset commit failed (informational only)', { error: e }));
    } else if (trailing) {
      trailing.timer.refresh();
    } else {
      // Skipped commits are caught up once the partition has been quiet for the interval: without it the last
      // batch before a pause never reached Kafka, and Kafka-side lag (dashboards, KEDA) never read 0 when idle.
      const commit = () => this.trailingKafkaCommit(batch.topic, batch.partition, partitionKey);
      const timer = setTimeout(() => {
        this.trailingKafkaCommits.delete(partitionKey);
        void commit();
      }, KAFKA_COMMIT_INTERVAL_MS);
      timer.unref();
      this.trailingKafkaCommits.set(partitionKey, { timer, commit });
    }
    return next;
  }

  /**
   * Commits the partition's offset as stored in Postgres (the truth, ADR 0001) rather than the one this member
   * last applied: if the partition moved to another member in the meantime, this never sets Kafka's copy
   * back behind what that member has applied.
   */
  private async trailingKafkaCommit(topic: string, partition: number, partitionKey: string): Promise<void> {
    try {
      const client = this.client;
      if (!client) return;
      const [row]: Array<{ next_offset: string }> = await this.options.dataSource.query(
        `SELECT next_offset FROM ${schemaOf(this.options.dataSource)}.consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3`,
        [this.options.groupId, topic, partition],
      );
      if (!row) return;
      this.lastKafkaCommit.set(partitionKey, Date.now());
      await client.commit(topic, partition, String(row.next_offset));
    } catch (e) {
      this.logger.warn('Kafka offset commit failed (informational only)', { error: e as Error });
    }
  }

  /** Applies one partition's batch exactly once, isolating any message that keeps failing; returns the next offset. */
  private async applyBatch(sub: TopicSubscription, batch: FetchedBatch): Promise<string> {
    const { groupId } = this.options;
    const messages = batch.records.map((r) => decodeRecord(sub, batch.partition, r));
    const links: Link[] = messages.flatMap(({ message }) => {
      const sc = spanContextOf(message.traceContext);
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
          'messaging.destination.name': batch.topic,
          'messaging.destination.partition.id': String(batch.partition),
          'messaging.batch.message_count': messages.length,
          'messaging.consumer.group.name': groupId,
        },
      },
      ROOT_CONTEXT,
    );
    try {
      const next = await context.with(trace.setSpan(ROOT_CONTEXT, span), () => this.applyOrIsolate(sub, batch.topic, batch.partition, messages, span, this.maxAttempts));
      span.setStatus({ code: SpanStatusCode.OK });
      return next;
    } catch (e) {
      // Not swallowed: nothing of the failed part committed, and the client fetches it again from the stored offset.
      span.recordException(e as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      this.logger.error('batch failed and was rolled back; it will be fetched again', {
        error: e as Error,
        topic: sub.topic,
        partition: batch.partition,
        firstOffset: batch.records[0]?.offset,
        lastOffset: batch.records[batch.records.length - 1]?.offset,
      });
      throw e;
    } finally {
      span.end();
    }
  }

  /**
   * Tries `messages` as one transaction up to `attempts` times. A transient failure is thrown to the client
   * at once. A deterministic one that persists splits the range in halves (each tried once, then split
   * again), and a single message that fails every attempt is dead-lettered with the error.
   */
  private async applyOrIsolate(
    sub: TopicSubscription,
    physical: string,
    partition: number,
    messages: DecodedMessage[],
    span: Span,
    attempts: number,
  ): Promise<string> {
    let lastError: unknown;
    const tries = messages.length === 1 ? this.maxAttempts : attempts;
    for (let attempt = 1; attempt <= tries; attempt++) {
      try {
        return await this.applyRange(sub, physical, partition, messages, span);
      } catch (e) {
        // Not the messages' fault and not going away by itself: refused until an operator decides.
        if (e instanceof TopicRecreatedError) throw e;
        lastError = e;
        const kind = failureKind(e);
        consumerRetries.inc({ topic: sub.topic, kind });
        if (kind === 'transient') throw e;
        this.logger.warn('batch failed; retrying before isolating the failing message', {
          topic: sub.topic,
          partition,
          firstOffset: messages[0].message.offset,
          lastOffset: messages[messages.length - 1].message.offset,
          attempt,
          of: tries,
          error: describeFailure(e, 300),
        });
        if (attempt < tries) await sleep(this.retryBackoffMs * 2 ** (attempt - 1));
      }
    }
    if (messages.length === 1) {
      const reason = `handler failed ${tries} time(s): ${describeFailure(lastError)}`;
      span.addEvent('dead-lettered poison message', { offset: messages[0].message.offset });
      return this.deadLetterAlone(sub, physical, partition, messages[0].message, { reason, kind: 'poison' });
    }
    const middle = Math.ceil(messages.length / 2);
    await this.applyOrIsolate(sub, physical, partition, messages.slice(0, middle), span, 1);
    return this.applyOrIsolate(sub, physical, partition, messages.slice(middle), span, 1);
  }

  /** One transaction: the handler on the fresh, decodable messages, their derived events and dead letters, the offset. */
  private async applyRange(sub: TopicSubscription, physical: string, partition: number, messages: DecodedMessage[], span: Span): Promise<string> {
    const { dataSource } = this.options;
    const last = messages[messages.length - 1].message.offset;
    const next = (BigInt(last) + 1n).toString();
    let wroteOutbox = false;
    let info: BatchInfo | undefined;
    const rejections: Rejection[] = [];
    const committed: Array<() => void> = [];
    await dataSource.transaction(async (manager) => {
      const stored = await this.lockOffsetRow(manager, physical, partition);
      const fresh = messages.filter(({ message }) => BigInt(message.offset) >= stored);
      const skipped = messages.length - fresh.length;
      if (skipped > 0) consumedMessages.inc({ topic: sub.topic, outcome: 'skipped_stale' }, skipped);
      if (fresh.length === 0) return;

      const outbox: OutboxRecord[] = [];
      const rejected = new Set<ConsumedMessage>();
      const reject = (m: ConsumedMessage, rejection: Rejection) => {
        if (rejected.has(m)) return;
        rejected.add(m);
        rejections.push(rejection);
        outbox.push(this.deadLetterRecord(m, rejection.reason));
      };
      const valid: ConsumedMessage[] = [];
      for (const { message, problem } of fresh) {
        if (problem !== undefined) reject(message, { reason: problem, kind: problem.startsWith('schema validation failed') ? 'schema' : 'undecodable' });
        else valid.push(message);
      }
      const emit = (event: DerivedEvent) => outbox.push(derivedRecord(this.options.settings, event, span.spanContext()));
      const deadLetter = (m: ConsumedMessage, reason: string) => reject(m, { reason, kind: 'rejected' });
      const onCommitted = (fn: () => void) => committed.push(fn);
      if (valid.length > 0) await sub.handler(valid, { manager, emit, deadLetter, onCommitted });
      info = { topic: sub.topic, partition, firstOffset: fresh[0].message.offset, lastOffset: last, applied: fresh.length - rejected.size };
      wroteOutbox = await this.finish(manager, sub, physical, partition, next, outbox, info);
      consumedMessages.inc({ topic: sub.topic, outcome: 'applied' }, fresh.length - rejected.size);
      if (rejected.size > 0) consumedMessages.inc({ topic: sub.topic, outcome: 'dead_lettered' }, rejected.size);
    });
    for (const r of rejections) deadLetters.inc({ topic: sub.topic, reason: r.kind });
    for (const fn of committed) {
      try {
        fn();
      } catch (e) {
        this.logger.error('an after-commit callback failed (the batch is committed)', { error: e as Error, topic: sub.topic, partition });
      }
    }
    if (info) await this.options.hooks?.afterCommit?.(info);
    if (wroteOutbox) this.options.onOutboxWritten?.();
    return next;
  }

  /** Dead-letters one message and stores the offset past it, in one transaction, without running the handler. */
  private async deadLetterAlone(sub: TopicSubscription, physical: string, partition: number, message: ConsumedMessage, rejection: Rejection): Promise<string> {
    const next = (BigInt(message.offset) + 1n).toString();
    let wroteOutbox = false;
    let deadLettered = false;
    await this.options.dataSource.transaction(async (manager) => {
      const stored = await this.lockOffsetRow(manager, physical, partition);
      if (BigInt(message.offset) < stored) return;
      // Through the outbox whatever the subscription's delivery: if the broker refuses even the bounded dead
      // letter, the relay parks it, where a direct send would fail this message forever.
      await writeOutboxAndOffset(manager, [this.deadLetterRecord(message, rejection.reason)], { groupId: this.options.groupId, topic: physical, partition, next });
      await this.options.hooks?.beforeCommit?.({ topic: sub.topic, partition, firstOffset: message.offset, lastOffset: message.offset, applied: 0 });
      wroteOutbox = true;
      deadLettered = true;
      consumedMessages.inc({ topic: sub.topic, outcome: 'dead_lettered' });
    });
    if (deadLettered) {
      deadLetters.inc({ topic: sub.topic, reason: rejection.kind });
      this.logger.error('message isolated and dead-lettered; the partition goes on', { topic: sub.topic, partition, offset: message.offset, reason: rejection.reason });
    }
    if (wroteOutbox) this.options.onOutboxWritten?.();
    return next;
  }

  /**
   * One round trip: creates the row on first use (stamped with the topic's id), and the no-op update locks it
   * like FOR UPDATE would. A row of an older topic of the same name is refused.
   */
  private async lockOffsetRow(manager: EntityManager, physical: string, partition: number): Promise<bigint> {
    const s = schemaOf(this.options.dataSource);
    const current = this.currentTopicIds.get(physical) ?? null;
    const [row] = await manager.query(
      `INSERT INTO ${s}.consumer_offsets AS o (group_id, topic, partition, next_offset, topic_id) VALUES ($1, $2, $3, 0, $4)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = o.next_offset, topic_id = COALESCE(o.topic_id, EXCLUDED.topic_id)
       RETURNING next_offset, topic_id`,
      [this.options.groupId, physical, partition, current],
    );
    if (current && row.topic_id && row.topic_id !== current) {
      const error = new TopicRecreatedError(physical, row.topic_id, current, this.options.groupId);
      this.refuseTopic(error);
      throw error;
    }
    return BigInt(row.next_offset);
  }

  /** Derived events and dead letters leave (outbox or direct), then the offset is stored; returns whether the outbox was written. */
  private async finish(
    manager: EntityManager,
    sub: TopicSubscription,
    physical: string,
    partition: number,
    next: string,
    outbox: OutboxRecord[],
    info: BatchInfo,
  ): Promise<boolean> {
    const { groupId } = this.options;
    if (sub.delivery === 'direct') {
      // Acknowledged before the offsets below are stored: a crash in between sends them again, never loses them.
      await this.options.producer?.send(outbox);
      await this.options.hooks?.beforeCommit?.(info);
      await manager.query(
        `UPDATE ${schemaOf(this.options.dataSource)}.consumer_offsets SET next_offset = $4, updated_at = now()
         WHERE group_id = $1 AND topic = $2 AND partition = $3`,
        [groupId, physical, partition, next],
      );
      return false;
    }
    await writeOutboxAndOffset(manager, outbox, { groupId, topic: physical, partition, next });
    await this.options.hooks?.beforeCommit?.(info);
    return outbox.length > 0;
  }

  private deadLetterRecord(m: ConsumedMessage, reason: string): OutboxRecord {
    const source = { topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.raw.key, value: m.raw.value, headers: m.headers };
    return {
      topic: physicalTopic(this.options.settings, dlqTopicFor(m.topic)),
      key: m.key,
      value: JSON.stringify(deadLetterValue(source, reason, this.deadLetterLimits)),
      headers: deadLetterHeaders(source, reason, this.deadLetterLimits),
    };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function decodeRecord(sub: TopicSubscription, partition: number, r: FetchedRecord): DecodedMessage {
  const message: ConsumedMessage = {
    topic: sub.topic,
    partition,
    offset: r.offset,
    key: r.key ? r.key.toString('utf8') : null,
    value: r.value,
    headers: r.headers,
    timestamp: r.timestamp,
    traceContext: contextFromHeaders(r.headers),
    raw: r,
  };
  return { message, problem: decode(message, sub.schema, sub.decode) };
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
    let result: ReturnType<ZodType['safeParse']>;
    try {
      // The schema's fast check (if any) only ever says yes to what the schema would return unchanged.
      if (fastAcceptFor(schema)?.(parsed)) {
        m.value = parsed;
        return undefined;
      }
      result = schema.safeParse(parsed);
    } catch (e) {
      // A pathological document (e.g. nested deeper than the stack) must be a dead letter, not a crash.
      return `schema validation failed: ${(e as Error).message}`;
    }
    if (!result.success) {
      return `schema validation failed: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
    }
    parsed = result.data;
  }
  m.value = parsed;
  return undefined;
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
