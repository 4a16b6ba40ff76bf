import { expectEventually, TestSuite } from '@tally/testing';
import { KafkajsEventProducer, type ProducedRecord } from './event-producer';
import { ensureTopics } from './topic-admin';

describe('KafkajsEventProducer (real Kafka)', () => {
  const suite = new TestSuite();
  const topic = 'kafkajs.producer.v1';
  let producer: KafkajsEventProducer;

  beforeAll(async () => {
    await ensureTopics(suite.kafka, { ...suite.kafkaSettings, defaultPartitions: 3 }, [suite.topic(topic)]);
    producer = new KafkajsEventProducer(suite.kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await suite.cleanup();
  });

  // The consumer applies several partitions at once and HTTP requests overlap, so sends are concurrent.
  // Two idempotent requests to one partition in flight at once fail with "out of order sequence number".
  it('takes concurrent sends: every record once, in order per key', async () => {
    const customers = 30;
    const seqs = new Map<string, number>();
    const records: ProducedRecord[] = Array.from({ length: 12_000 }, (_, i) => {
      const customer = `customer-${(i * 7) % customers}`;
      const seq = seqs.get(customer) ?? 0;
      seqs.set(customer, seq + 1);
      return { topic: suite.topic(topic), key: customer, value: JSON.stringify({ eventId: `e${i}`, customer, seq }) };
    });
    const batches = Array.from({ length: 24 }, (_, b) => records.slice(b * 500, (b + 1) * 500));
    await Promise.all(batches.map((batch) => producer.send(batch)));

    const collector = await suite.collect([topic]);
    await expectEventually(() => expect(collector.on(topic)).toHaveLength(12_000), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    const all = collector.on<{ eventId: string; customer: string; seq: number }>(topic);
    expect(all).toHaveLength(12_000);
    expect(new Set(all.map((m) => m.value.eventId)).size).toBe(12_000);
    for (let c = 0; c < customers; c++) {
      const key = `customer-${c}`;
      expect(all.filter((m) => m.key === key).map((m) => m.value.seq)).toEqual(Array.from({ length: seqs.get(key) ?? 0 }, (_, i) => i));
    }
  });

  it('takes one send larger than the broker accepts in one request (cut into requests, still in order)', async () => {
    const big = 'big.producer.v1';
    await ensureTopics(suite.kafka, { ...suite.kafkaSettings, defaultPartitions: 1 }, [suite.topic(big)]);
    const padding = 'x'.repeat(1000);
    // ~3 MB to one partition: one request would exceed message.max.bytes (1 MiB).
    const records: ProducedRecord[] = Array.from({ length: 3000 }, (_, i) => ({ topic: suite.topic(big), key: 'one-key', value: JSON.stringify({ seq: i, padding }) }));
    await producer.send(records);
    const collector = await suite.collect([big]);
    await expectEventually(() => expect(collector.on(big)).toHaveLength(3000), 30_000);
    expect(collector.on<{ seq: number }>(big).map((m) => m.value.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });
});
