import { Partitioners } from 'kafkajs';
import { expectEventually, TestSuite } from '@tally/testing';
import type { ProducedRecord } from './event-producer';
import { createEventProducer } from './event-producer-factory';
import { KafkajsEventProducer } from './event-producer';
import { PlatformaticEventProducer } from './platformatic-event-producer';
import { ensureTopics } from './topic-admin';

interface Sent {
  eventId: string;
  customer: string;
  seq: number;
}

describe('PlatformaticEventProducer (real Kafka)', () => {
  const suite = new TestSuite();
  const topic = 'platformatic.producer.v1';
  let producer: PlatformaticEventProducer;

  beforeAll(async () => {
    await ensureTopics(suite.kafka, { ...suite.kafkaSettings, defaultPartitions: 3 }, [suite.topic(topic)]);
    producer = new PlatformaticEventProducer({ brokers: suite.kafkaBrokers.split(','), clientId: suite.id });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await suite.cleanup();
  });

  it('publishes every record once, in order per key, with keys and headers intact, on the partitions kafkajs would pick', async () => {
    const customers = 40;
    const seqs = new Map<string, number>();
    const records: ProducedRecord[] = Array.from({ length: 2000 }, (_, i) => {
      const customer = `customer-${(i * 7) % customers}`;
      const seq = seqs.get(customer) ?? 0;
      seqs.set(customer, seq + 1);
      const value = JSON.stringify({ eventId: `e${i}`, customer, seq } satisfies Sent);
      // Both value types of ProducedRecord go through.
      return { topic: suite.topic(topic), key: customer, value: i % 5 === 0 ? Buffer.from(value) : value, headers: { 'event-id': `e${i}`, 'x-index': String(i) } };
    });
    // Sends issued without awaiting each other still go out one after another, in call order.
    const batches = Array.from({ length: 8 }, (_, b) => records.slice(b * 250, (b + 1) * 250));
    await Promise.all(batches.map((batch) => producer.send(batch)));

    const collector = await suite.collect([topic]);
    await expectEventually(() => expect(collector.on(topic)).toHaveLength(2000));
    // A little longer: nothing arrives twice.
    await new Promise((r) => setTimeout(r, 1000));
    const all = collector.on<Sent>(topic);
    expect(all).toHaveLength(2000);
    expect(new Set(all.map((m) => m.value.eventId)).size).toBe(2000);

    const kafkajsPartition = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 1, replicas: [1], isr: [1] }));
    for (const m of all) {
      expect(m.key).toBe(m.value.customer);
      const index = Number(m.value.eventId.slice(1));
      expect(m.headers).toEqual({ 'event-id': m.value.eventId, 'x-index': String(index) });
      expect(m.partition).toBe(kafkajsPartition({ topic: suite.topic(topic), partitionMetadata, message: { key: m.key, value: null } }));
    }
    expect(new Set(all.map((m) => m.partition))).toEqual(new Set([0, 1, 2]));
    for (let c = 0; c < customers; c++) {
      const key = `customer-${c}`;
      expect(all.filter((m) => m.key === key).map((m) => m.value.seq)).toEqual(Array.from({ length: seqs.get(key) ?? 0 }, (_, i) => i));
    }
  });

  it('rejects a send to a missing topic instead of creating it, and keeps working afterwards', async () => {
    // Few retries: an unknown topic is retriable (it may be being created), which takes ~30 s with the defaults.
    const impatient = new PlatformaticEventProducer({ brokers: suite.kafkaBrokers.split(','), clientId: `${suite.id}-impatient`, retries: 2 });
    await impatient.connect();
    try {
      await expect(impatient.send([{ topic: suite.topic('missing.v1'), key: 'k', value: '{}' }])).rejects.toThrow();
      const collector = await suite.collect(['after-failure.v1']);
      await impatient.send([{ topic: suite.topic('after-failure.v1'), key: 'k', value: JSON.stringify({ ok: true }) }]);
      await expectEventually(() => expect(collector.on('after-failure.v1').map((m) => m.value)).toEqual([{ ok: true }]));
    } finally {
      await impatient.disconnect();
    }
  });

  it('is chosen by KAFKA_PRODUCER_CLIENT; kafkajs by default; unknown values fail fast', () => {
    const brokers = suite.kafkaBrokers.split(',');
    expect(createEventProducer(suite.kafka, brokers, suite.id, {})).toBeInstanceOf(KafkajsEventProducer);
    expect(createEventProducer(suite.kafka, brokers, suite.id, { KAFKA_PRODUCER_CLIENT: 'platformatic' })).toBeInstanceOf(PlatformaticEventProducer);
    expect(() => createEventProducer(suite.kafka, brokers, suite.id, { KAFKA_PRODUCER_CLIENT: 'rdkafka' })).toThrow(
      'KAFKA_PRODUCER_CLIENT must be one of kafkajs, platformatic (got "rdkafka")',
    );
  });
});
