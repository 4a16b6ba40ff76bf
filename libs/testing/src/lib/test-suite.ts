import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Client } from 'pg';
import { ALL_TOPICS, HEADERS, type ApiKeyChanged } from '@tally/contracts';
import { ensureTopics, physicalTopic, registerKafkajsCodecs, type ConsumedMessage, type KafkaSettings } from '@tally/kafka';
import { loadServiceConfig, signApiKeyChange, type ServiceConfig, type ServiceDefinition } from '@tally/nest-platform';

/** A message as a test reads it back: a consumed message without the consumer's trace bookkeeping. */
export type CollectedMessage<T = Record<string, unknown>> = Pick<ConsumedMessage<T>, 'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers'>;

/**
 * One integration suite's private corner of the shared Kafka and Postgres: a topic prefix and schemas
 * named after a random id, so suites can run in parallel and leave nothing behind.
 */
export class TestSuite {
  readonly id = `t${randomBytes(4).toString('hex')}`;
  readonly topicPrefix = `${this.id}.`;
  /** The suite's CATALOG_SIGNING_SECRET: every service config below shares it, as a deployment's services do. */
  readonly catalogSigningSecret = randomBytes(32).toString('base64url');
  readonly kafkaBrokers: string;
  readonly databaseUrl: string;
  readonly kafka: Kafka;
  private readonly consumers: Consumer[] = [];

  constructor() {
    const brokers = process.env.KAFKA_BROKERS;
    const url = process.env.DATABASE_URL;
    if (!brokers || !url) throw new Error('KAFKA_BROKERS/DATABASE_URL are not set: run integration tests through jest (globalSetup)');
    this.kafkaBrokers = brokers;
    this.databaseUrl = url;
    process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
    registerKafkajsCodecs(); // as createKafka does: tests read snappy, lz4 and zstd batches too
    this.kafka = new Kafka({ clientId: this.id, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  }

  get kafkaSettings(): KafkaSettings {
    return { brokers: this.kafkaBrokers.split(','), clientId: this.id, topicPrefix: this.topicPrefix, defaultPartitions: 2 };
  }

  schema(name: string): string {
    return `${this.id}_${name.replace(/-/g, '_')}`;
  }

  topic(logical: string): string {
    return physicalTopic(this.kafkaSettings, logical);
  }

  /** A service's config pointed at this suite's schema and topics; HTTP on a free port. */
  serviceConfig(definition: Pick<ServiceDefinition, 'name' | 'configSchema'>, env: Record<string, string> = {}): ServiceConfig {
    const service = definition.name;
    return loadServiceConfig(service, { port: 0 }, {
      PORT: '0',
      DATABASE_URL: this.databaseUrl,
      KAFKA_BROKERS: this.kafkaBrokers,
      DB_SCHEMA: this.schema(service),
      KAFKA_TOPIC_PREFIX: this.topicPrefix,
      KAFKA_PARTITIONS: '2',
      CATALOG_SIGNING_SECRET: this.catalogSigningSecret,
      ...env,
    }, definition.configSchema);
  }

  /** A `catalog.api-keys.v1` message signed with the suite's secret, as ingestion would sign it (for `produce`). */
  signedApiKeyMessage(key: string, value: ApiKeyChanged): { key: string; value: ApiKeyChanged; headers: Record<string, string> } {
    return { key, value, headers: { [HEADERS.signature]: signApiKeyChange(this.catalogSigningSecret, key, value) } };
  }

  async createTopics(logical: string[] = [...ALL_TOPICS]): Promise<void> {
    await ensureTopics(this.kafka, this.kafkaSettings, logical.map((t) => this.topic(t)));
  }

  async produce(logicalTopic: string, messages: Array<{ key?: string | null; value: unknown; headers?: Record<string, string> }>): Promise<void> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic: this.topic(logicalTopic),
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key ?? null,
          value: typeof m.value === 'string' || Buffer.isBuffer(m.value) ? m.value : JSON.stringify(m.value),
          headers: m.headers,
        })),
      });
    } finally {
      await producer.disconnect();
    }
  }

  /** Reads the given topics from the beginning into memory for assertions. */
  async collect(logicalTopics: string[]): Promise<TopicCollector> {
    await this.createTopics(logicalTopics);
    const consumer = this.kafka.consumer({ groupId: `${this.id}-collector-${randomBytes(3).toString('hex')}`, maxWaitTimeInMs: 100 });
    this.consumers.push(consumer);
    const collector = new TopicCollector(consumer, this.topicPrefix);
    await consumer.connect();
    await consumer.subscribe({ topics: logicalTopics.map((t) => this.topic(t)), fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, partition, message }) => collector.add(topic, partition, message) });
    return collector;
  }

  /**
   * Asserts (for expectEventually) that a service's exactly-once consumer has consumed a topic to its end, from
   * the offsets it stores in Postgres beside its state.
   */
  async expectCaughtUp(service: string, logicalTopic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topic = this.topic(logicalTopic);
      const ends = await admin.fetchTopicOffsets(topic);
      const stored = await this.query<{ partition: number; next_offset: string }>(
        `SELECT partition, next_offset::text FROM "${this.schema(service)}".consumer_offsets WHERE topic = $1`,
        [topic],
      );
      for (const end of ends) {
        const at = Number(stored.find((o) => o.partition === end.partition)?.next_offset ?? 0);
        expect({ service, topic: logicalTopic, partition: end.partition, behind: Number(end.high) - at }).toEqual({ service, topic: logicalTopic, partition: end.partition, behind: 0 });
      }
    } finally {
      await admin.disconnect();
    }
  }

  /** Asserts (for expectEventually) that the service has published every row of its outbox. */
  async expectOutboxPublished(service: string): Promise<void> {
    expect(await this.query(`SELECT id FROM "${this.schema(service)}".outbox WHERE published_at IS NULL`)).toEqual([]);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  }

  /** Drops the suite's schemas and topics. */
  async cleanup(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
    const schemas = await this.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${this.id}\\_%`]);
    for (const { nspname } of schemas) await this.query(`DROP SCHEMA "${nspname}" CASCADE`);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(this.topicPrefix));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }
}

export class TopicCollector {
  readonly messages: CollectedMessage[] = [];

  constructor(
    private readonly consumer: Consumer,
    private readonly prefix: string,
  ) {}

  add(topic: string, partition: number, message: { key: Buffer | null; value: Buffer | null; offset: string; headers?: Record<string, unknown> }): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    const text = message.value?.toString('utf8') ?? '';
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text);
    } catch {
      value = { unparsed: text };
    }
    this.messages.push({
      topic: topic.startsWith(this.prefix) ? topic.slice(this.prefix.length) : topic,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      value,
      headers,
    });
  }

  on<T = Record<string, unknown>>(logicalTopic: string): CollectedMessage<T>[] {
    return this.messages.filter((m) => m.topic === logicalTopic) as unknown as CollectedMessage<T>[];
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
