import type { DataSource } from 'typeorm';
import { dlqTopicFor } from '@tally/contracts';
import { openServiceDataSource } from '@tally/postgres';
import { expectEventually, TestSuite } from '@tally/testing';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';
import { CONSUMER_CLIENTS } from './consumer-client-factory';
import { CreateAppliedMessages1732400009000 } from '../test-support/applied-messages.migration';
import { recordingConsumer, TEST_TOPIC } from '../test-support/recording-consumer';

/**
 * Kafka's copy of the group offsets is informational (Postgres holds the truth, ADR 0001), but lag exporters
 * and KEDA read it: once a consumer is caught up it must equal the topic's end offsets, not stop at the first
 * batch of the last second.
 */
describe.each(CONSUMER_CLIENTS)('Kafka-side group offsets are exact when caught up (%s client, real Kafka + Postgres)', (clientName) => {
  const suite = new TestSuite();
  let dataSource: DataSource;
  const schema = () => suite.schema('plumbing');

  beforeAll(async () => {
    await suite.createTopics([TEST_TOPIC, dlqTopicFor(TEST_TOPIC), 'plumbing.derived.v1']);
    dataSource = await openServiceDataSource({ url: suite.databaseUrl, schema: schema(), migrations: [...KAFKA_PLUMBING_MIGRATIONS, CreateAppliedMessages1732400009000] });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await suite.cleanup();
  });

  async function offsets(groupId: string): Promise<{ committed: Record<number, number>; ends: Record<number, number> }> {
    const admin = suite.kafka.admin();
    await admin.connect();
    try {
      const topic = suite.topic(TEST_TOPIC);
      const [group] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      return {
        committed: Object.fromEntries(group.partitions.map((p) => [p.partition, Number(p.offset)])),
        ends: Object.fromEntries(ends.map((p) => [p.partition, Number(p.high)])),
      };
    } finally {
      await admin.disconnect();
    }
  }

  const applied = async () => Number((await suite.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema()}".applied_messages`))[0].n);
  const burst = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ key: `customer-${(from + i) % 5}`, value: { n: from + i } }));

  it('equals the end offsets a few seconds after each burst, also bursts that land within a second of the last commit', async () => {
    const previous = process.env.KAFKA_CONSUMER_CLIENT;
    process.env.KAFKA_CONSUMER_CLIENT = clientName;
    const groupId = `${suite.id}-${clientName}-offsets`;
    const consumer = recordingConsumer(dataSource, suite.kafkaSettings, groupId);
    process.env.KAFKA_CONSUMER_CLIENT = previous;
    await dataSource.query(`TRUNCATE "${schema()}".applied_messages`);
    await consumer.start();
    try {
      let sent = 0;
      for (let round = 0; round < 2; round++) {
        // One message first: its batch commits to Kafka at once, so what follows within the second does not.
        await suite.produce(TEST_TOPIC, burst(sent, 1));
        sent += 1;
        await expectEventually(async () => expect(await applied()).toBe(sent), 60_000);
        for (let chunk = 0; chunk < 8; chunk++) {
          await suite.produce(TEST_TOPIC, burst(sent, 25));
          sent += 25;
        }
        await expectEventually(async () => expect(await applied()).toBe(sent), 60_000);
        const caughtUpAt = Date.now();
        await expectEventually(async () => {
          const { committed, ends } = await offsets(groupId);
          expect(committed).toEqual(ends);
        }, 5_000);
        // The interval is 1 s; the trailing commit follows it, well within the few seconds an autoscaler polls at.
        expect(Date.now() - caughtUpAt).toBeLessThan(5_000);
      }
      const { ends } = await offsets(groupId);
      expect(Object.values(ends).reduce((a, b) => a + b, 0)).toBe(sent);
    } finally {
      await consumer.stop();
    }
  });
});
