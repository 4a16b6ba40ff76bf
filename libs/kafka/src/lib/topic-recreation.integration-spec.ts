import type { DataSource } from 'typeorm';
import { dlqTopicFor } from '@tally/contracts';
import { openServiceDataSource, schemaOf } from '@tally/postgres';
import { expectEventually, TestSuite } from '@tally/testing';
import { JsonLogger } from '@tally/telemetry';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';
import { ExactlyOnceConsumer, TopicRecreatedError } from './exactly-once-consumer';
import { platformaticTopicIdReader } from './topic-ids';
import { resetStoredOffsets } from './reset-offsets';

const TOPIC = 'plumbing.recreated.v1';
const logger = new JsonLogger('topic-recreation-test', undefined, 'error');

/**
 * Offsets live in Postgres. When a topic is deleted and created again (a reset broker, a restored cluster)
 * the stored offsets point into a different log: read from them, the new topic's first messages would be
 * skipped without a word. The consumer must refuse, say why and how to recover, and apply nothing.
 */
describe('A recreated topic is refused, not silently skipped (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let dataSource: DataSource;
  const topicIds = () => platformaticTopicIdReader({ brokers: suite.kafkaSettings.brokers, clientId: suite.id });
  const readers: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    dataSource = await openServiceDataSource({ url: suite.databaseUrl, schema: suite.schema('recreated'), migrations: KAFKA_PLUMBING_MIGRATIONS });
    await dataSource.query(`CREATE TABLE ${schemaOf(dataSource)}.seen (body text NOT NULL)`);
  });

  afterAll(async () => {
    for (const r of readers) await r.close();
    await dataSource?.destroy();
    await suite.cleanup();
  });

  const consumer = () => {
    const reader = topicIds();
    readers.push(reader);
    return new ExactlyOnceConsumer({
      kafka: suite.kafka,
      settings: suite.kafkaSettings,
      dataSource,
      groupId: `${suite.id}-recreated`,
      logger,
      sessionTimeoutMs: 6_000,
      topicIds: reader,
      subscriptions: [
        {
          topic: TOPIC,
          handler: async (messages, batch) => {
            for (const m of messages) await batch.manager.query(`INSERT INTO ${schemaOf(dataSource)}.seen (body) VALUES ($1)`, [JSON.stringify(m.value)]);
          },
        },
      ],
    });
  };
  const seen = async () => (await dataSource.query(`SELECT body FROM ${schemaOf(dataSource)}.seen ORDER BY body`)).map((r: { body: string }) => JSON.parse(r.body).n as string);

  it('stamps offsets with the topic id, refuses the recreated topic with a recovery hint, and reads it from the start after offsets:reset', async () => {
    await suite.createTopics([TOPIC, dlqTopicFor(TOPIC)]);
    await suite.produce(TOPIC, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: { n: `old-${i}` } })));
    const first = consumer();
    await first.start();
    await expectEventually(async () => expect(await seen()).toHaveLength(10), 60_000);
    await first.stop();
    const [stamped] = await suite.query<{ topic_id: string | null }>(`SELECT topic_id FROM "${suite.schema('recreated')}".consumer_offsets WHERE topic = $1 LIMIT 1`, [suite.topic(TOPIC)]);
    expect(stamped.topic_id).toMatch(/^[0-9a-f-]{20,}$|^[A-Za-z0-9_-]{22}$/);

    const admin = suite.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [suite.topic(TOPIC)], timeout: 30_000 });
    await expectEventually(async () => expect(await admin.listTopics()).not.toContain(suite.topic(TOPIC)), 30_000);
    await admin.disconnect();
    // Recreated with fewer messages than the stored offset: read from there, all of them would be skipped.
    await expectEventually(() => suite.createTopics([TOPIC]), 30_000);
    await suite.produce(TOPIC, Array.from({ length: 3 }, (_, i) => ({ key: 'k', value: { n: `new-${i}` } })));

    const refused = consumer();
    await refused.start();
    try {
      await expectEventually(() => expect(refused.refusedTopics).toHaveLength(1), 60_000);
      const [error] = refused.refusedTopics;
      expect(error).toBeInstanceOf(TopicRecreatedError);
      expect(error.message).toContain('npm run offsets:reset');
      expect(error.storedTopicId).toBe(stamped.topic_id);
      expect(refused.isHealthy()).toBe(false);
      // Nothing of the new topic was applied, and nothing was dead-lettered or skipped past.
      await new Promise((r) => setTimeout(r, 2000));
      expect(await seen()).toHaveLength(10);
    } finally {
      await refused.stop();
    }

    expect(await resetStoredOffsets(dataSource, suite.topic(TOPIC))).toBeGreaterThan(0);
    const recovered = consumer();
    await recovered.start();
    try {
      await expectEventually(async () => expect(await seen()).toEqual([...Array.from({ length: 3 }, (_, i) => `new-${i}`), ...Array.from({ length: 10 }, (_, i) => `old-${i}`)]), 60_000);
      expect(recovered.isHealthy()).toBe(true);
    } finally {
      await recovered.stop();
    }
  });
});
