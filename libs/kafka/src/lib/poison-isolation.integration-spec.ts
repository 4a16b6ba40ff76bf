import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { dlqTopicFor } from '@tally/contracts';
import { openServiceDataSource, schemaOf } from '@tally/postgres';
import { expectEventually, TestSuite } from '@tally/testing';
import { JsonLogger } from '@tally/telemetry';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';
import { KafkajsEventProducer } from './event-producer';
import { OutboxRelay } from './outbox-relay';
import { ExactlyOnceConsumer } from './exactly-once-consumer';
import { writeOutbox } from './outbox';
import { consumerRetries, deadLetters, outboxParked } from './kafka-metrics';
import type { DeadLetterValue } from './dead-letter';

const POISON_TOPIC = 'plumbing.poison.v1';
const BIG_TOPIC = 'plumbing.big.v1';
const FLAKY_TOPIC = 'plumbing.flaky.v1';
const logger = new JsonLogger('poison-test', undefined, 'error');

/**
 * A handler whose Postgres writes are refused for some inputs, as real data makes them: a NUL character
 * (22021), a number beyond int4 (22003), a string over the column's length (22001), a CHECK violation (23514),
 * and a plain bug (TypeError) on one shape. Each such message must end in the DLQ alone, with its reason,
 * while every other message of the partition — before and after it — is applied exactly once.
 */
describe('Poison messages never block a partition (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let dataSource: DataSource;
  let producer: KafkajsEventProducer;
  let relay: OutboxRelay;
  const schema = () => suite.schema('poison');

  beforeAll(async () => {
    await suite.createTopics([POISON_TOPIC, dlqTopicFor(POISON_TOPIC), FLAKY_TOPIC, dlqTopicFor(FLAKY_TOPIC), 'plumbing.derived.v1']);
    // The source topic takes records up to 4 MB; its DLQ keeps the broker's default (1 MiB), so a dead letter
    // carrying the original whole would be refused.
    const admin = suite.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: suite.topic(BIG_TOPIC), numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4194304' }] },
        { topic: suite.topic(dlqTopicFor(BIG_TOPIC)), numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    dataSource = await openServiceDataSource({ url: suite.databaseUrl, schema: schema(), migrations: KAFKA_PLUMBING_MIGRATIONS });
    await dataSource.query(`CREATE TABLE ${schemaOf(dataSource)}.items (
      n int PRIMARY KEY, label varchar(32) NOT NULL, note text NOT NULL, amount int NOT NULL CHECK (amount >= 0))`);
    producer = new KafkajsEventProducer(suite.kafka);
    await producer.connect();
    relay = new OutboxRelay(dataSource, producer, logger, { idleMs: 50 });
    relay.start();
  });

  afterAll(async () => {
    await relay?.stop();
    await producer?.disconnect();
    await dataSource?.destroy();
    await suite.cleanup();
  });

  const consumerFor = (topic: string, groupSuffix: string, onApply?: (manager: EntityManager) => Promise<void>) =>
    new ExactlyOnceConsumer({
      kafka: suite.kafka,
      settings: suite.kafkaSettings,
      dataSource,
      groupId: `${suite.id}-${groupSuffix}`,
      logger,
      retryBackoffMs: 10,
      onOutboxWritten: () => relay.wake(),
      subscriptions: [
        {
          topic,
          handler: async (messages, batch) => {
            await onApply?.(batch.manager);
            for (const m of messages) {
              const v = m.value as { n: number; label: string; note: string; amount: number; shape?: string };
              if (v.shape === 'bug') (undefined as unknown as { boom(): void }).boom();
              await batch.manager.query(`INSERT INTO ${schemaOf(dataSource)}.items (n, label, note, amount) VALUES ($1, $2, $3, $4)`, [v.n, v.label, v.note, v.amount]);
            }
          },
        },
      ],
    });

  const good = (n: number) => ({ key: 'one-customer', value: { n, label: `item-${n}`, note: 'ok', amount: n } });

  it('dead-letters each message Postgres refuses (or the handler cannot process) and applies all the others once, in one partition', async () => {
    const dlq = await suite.collect([dlqTopicFor(POISON_TOPIC)]);
    const before = (await deadLetters.get()).values.filter((v) => v.labels.topic === POISON_TOPIC && v.labels.reason === 'poison').reduce((a, v) => a + v.value, 0);
    const poison = [
      { key: 'one-customer', value: { n: 1001, label: 'nul', note: 'a\u0000b', amount: 1 } },
      { key: 'one-customer', value: { n: 1002, label: 'int-overflow', note: 'x', amount: 2 ** 31 } },
      { key: 'one-customer', value: { n: 1003, label: 'x'.repeat(33), note: 'too long a label', amount: 1 } },
      { key: 'one-customer', value: { n: 1004, label: 'negative', note: 'check', amount: -5 } },
      { key: 'one-customer', value: { n: 1005, label: 'bug', note: 'x', amount: 1, shape: 'bug' } },
    ];
    // All on one key, so one partition: good ones before, between and after every poison message.
    const messages = [
      ...Array.from({ length: 40 }, (_, i) => good(i)),
      poison[0],
      ...Array.from({ length: 40 }, (_, i) => good(40 + i)),
      poison[1],
      poison[2],
      ...Array.from({ length: 40 }, (_, i) => good(80 + i)),
      poison[3],
      good(120),
      poison[4],
      ...Array.from({ length: 40 }, (_, i) => good(121 + i)),
    ];
    await suite.produce(POISON_TOPIC, messages);
    const consumer = consumerFor(POISON_TOPIC, 'poison');
    await consumer.start();
    try {
      await expectEventually(async () => {
        const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM ${schemaOf(dataSource)}.items`);
        expect(count).toBe(161);
      }, 90_000);
      const [{ min, max, distinct }] = await dataSource.query(`SELECT min(n)::int AS min, max(n)::int AS max, count(DISTINCT n)::int AS distinct FROM ${schemaOf(dataSource)}.items`);
      expect({ min, max, distinct }).toEqual({ min: 0, max: 160, distinct: 161 });
      await expectEventually(() => expect(dlq.on(dlqTopicFor(POISON_TOPIC))).toHaveLength(5), 30_000);
      const letters = dlq.on<DeadLetterValue & Record<string, unknown>>(dlqTopicFor(POISON_TOPIC)).map((m) => m.value);
      const byLabel = new Map(letters.map((l) => [JSON.parse(l.value ?? '{}').label as string, l]));
      expect(byLabel.get('nul')?.reason).toMatch(/22P05|22021|invalid byte sequence|unsupported Unicode escape/);
      expect(byLabel.get('int-overflow')?.reason).toMatch(/out of range.*22003/);
      expect(byLabel.get('x'.repeat(33))?.reason).toMatch(/too long.*22001/);
      expect(byLabel.get('negative')?.reason).toMatch(/check constraint.*23514/);
      expect(byLabel.get('bug')?.reason).toMatch(/TypeError|Cannot read properties of undefined/);
      for (const l of letters) {
        expect(l.reason).toMatch(/^handler failed 3 time\(s\): /);
        expect(l.source.topic).toBe(POISON_TOPIC);
        expect(l.truncated).toBe(false);
        expect(l.valueSha256).toBe(createHash('sha256').update(l.value!).digest('hex'));
      }
      // The stored offset is past everything: nothing is retried again after a restart.
      const [{ next }] = await suite.query<{ next: string }>(
        `SELECT sum(next_offset)::text AS next FROM "${schema()}".consumer_offsets WHERE group_id = $1`,
        [`${suite.id}-poison`],
      );
      expect(Number(next)).toBe(messages.length);
      const after = (await deadLetters.get()).values.filter((v) => v.labels.topic === POISON_TOPIC && v.labels.reason === 'poison').reduce((a, v) => a + v.value, 0);
      expect(after - before).toBe(5);
    } finally {
      await consumer.stop();
    }
  });

  it('never dead-letters a good message when Postgres drops its connections (transient failures are retried without limit)', async () => {
    const dlq = await suite.collect([dlqTopicFor(FLAKY_TOPIC)]);
    const transient = async () =>
      (await consumerRetries.get()).values.filter((v) => v.labels.topic === FLAKY_TOPIC && v.labels.kind === 'transient').reduce((a, v) => a + v.value, 0);
    let kills = 6;
    const consumer = consumerFor(FLAKY_TOPIC, 'terminations', async (manager) => {
      // More terminations than the bounded attempts: if they counted as the message's fault it would be dead-lettered.
      if (kills > 0) {
        kills -= 1;
        // The batch transaction's own connection, as a Postgres restart or failover would cut it.
        await manager.query(`SELECT pg_terminate_backend(pg_backend_pid())`);
      }
    });
    await suite.produce(FLAKY_TOPIC, Array.from({ length: 30 }, (_, i) => good(5000 + i)));
    await consumer.start();
    try {
      await expectEventually(async () => {
        const [{ count }] = await dataSource.query(`SELECT count(*)::int AS count FROM ${schemaOf(dataSource)}.items WHERE n >= 5000`);
        expect(count).toBe(30);
      }, 120_000);
      expect(kills).toBe(0);
      expect(await transient()).toBe(6);
      const [{ next }] = await suite.query<{ next: string }>(
        `SELECT sum(next_offset)::text AS next FROM "${schema()}".consumer_offsets WHERE group_id = $1`,
        [`${suite.id}-terminations`],
      );
      expect(Number(next)).toBe(30);
      // Nothing was dead-lettered: the DLQ of the topic stays empty (its collector reads from the start).
      await new Promise((r) => setTimeout(r, 1000));
      expect(dlq.on(dlqTopicFor(FLAKY_TOPIC))).toHaveLength(0);
    } finally {
      await consumer.stop();
    }
  });

  it('a dead letter always fits the broker: a 2 MB poison message is cut to the limit, with its size and hash', async () => {
    const dlq = await suite.collect([dlqTopicFor(BIG_TOPIC)]);
    const huge = JSON.stringify({ n: 9000, label: 'huge', note: `\u0000${'z'.repeat(2 * 1024 * 1024)}`, amount: 1 });
    await suite.produce(BIG_TOPIC, [good(8000), { key: 'one-customer', value: huge }, good(8001)]);
    const consumer = consumerFor(BIG_TOPIC, 'big');
    await consumer.start();
    try {
      await expectEventually(async () => {
        const rows = await dataSource.query(`SELECT n FROM ${schemaOf(dataSource)}.items WHERE n IN (8000, 8001) ORDER BY n`);
        expect(rows.map((r: { n: number }) => r.n)).toEqual([8000, 8001]);
      }, 90_000);
      await expectEventually(() => expect(dlq.on(dlqTopicFor(BIG_TOPIC))).toHaveLength(1), 30_000);
      const [letter] = dlq.on<DeadLetterValue>(dlqTopicFor(BIG_TOPIC)).map((m) => m.value);
      expect(letter.truncated).toBe(true);
      expect(letter.valueSize).toBe(Buffer.byteLength(huge));
      expect(letter.valueSha256).toBe(createHash('sha256').update(huge).digest('hex'));
      expect(Buffer.from(letter.valueBase64!, 'base64').toString('utf8')).toBe(huge.slice(0, 256 * 1024));
      const [{ parked }] = await dataSource.query(`SELECT count(*)::int AS parked FROM ${schemaOf(dataSource)}.outbox WHERE parked_at IS NOT NULL`);
      expect(parked).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it('the relay parks a record the broker refuses and publishes every record behind it, of every topic', async () => {
    const out = await suite.collect(['plumbing.derived.v1', dlqTopicFor(POISON_TOPIC)]);
    const parkedBefore = (await outboxParked.get()).values.reduce((a, v) => a + v.value, 0);
    const record = (topic: string, i: number) => ({ topic: suite.topic(topic), key: `k${i % 3}`, value: JSON.stringify({ eventId: `park-${i}`, i }) });
    await dataSource.transaction((m) =>
      writeOutbox(m, [
        ...Array.from({ length: 10 }, (_, i) => record('plumbing.derived.v1', i)),
        // Over the broker's default 1 MiB limit of the DLQ topic (incompressible, should the producer compress).
        { topic: suite.topic(dlqTopicFor(POISON_TOPIC)), key: 'k0', value: JSON.stringify({ eventId: 'too-big', blob: randomBytes(1_200_000).toString('base64') }) },
        ...Array.from({ length: 10 }, (_, i) => record(i % 2 ? 'plumbing.derived.v1' : dlqTopicFor(POISON_TOPIC), 10 + i)),
      ]),
    );
    await expectEventually(() => {
      const ids = new Set(out.messages.map((m) => (m.value as { eventId?: string }).eventId).filter((id) => id?.startsWith('park-')));
      expect(ids.size).toBe(20);
    }, 60_000);
    const parked = await dataSource.query(`SELECT topic, park_reason, attempts FROM ${schemaOf(dataSource)}.outbox WHERE parked_at IS NOT NULL`);
    expect(parked).toHaveLength(1);
    expect(parked[0].topic).toBe(suite.topic(dlqTopicFor(POISON_TOPIC)));
    expect(parked[0].park_reason).toMatch(/MESSAGE_TOO_LARGE|too large/i);
    expect((await outboxParked.get()).values.reduce((a, v) => a + v.value, 0) - parkedBefore).toBe(1);
    expect(out.messages.some((m) => (m.value as { eventId?: string }).eventId === 'too-big')).toBe(false);
  });
});
