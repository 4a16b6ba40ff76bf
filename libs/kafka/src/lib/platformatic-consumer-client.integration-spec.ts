import { JsonLogger } from '@tally/telemetry';
import { expectEventually, TestSuite } from '@tally/testing';
import type { BatchConsumerClientOptions, BatchConsumerHandlers, FetchedBatch, TopicPartition } from './consumer-client';
import { KafkajsConsumerClient } from './kafkajs-consumer-client';
import { PlatformaticConsumerClient } from './platformatic-consumer-client';
import { ensureTopics } from './topic-admin';

const logger = new JsonLogger('platformatic-consumer-test', undefined, 'error');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Applied {
  partition: number;
  offset: bigint;
  member: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * What the exactly-once core does with Postgres, kept in memory: a lock per partition (the offset row's
 * lock), records below the stored offset skipped, the next offset stored with the batch. Two members in one
 * process share it as two services share Postgres. It records every application, so a test sees doubles.
 */
class OffsetLedger {
  readonly stored = new Map<string, bigint>();
  readonly applied: Applied[] = [];
  readonly startOffsetCalls: TopicPartition[][] = [];
  /** Batches as delivered (before the stale check), by member. */
  readonly deliveries: Array<{ member: string; batch: FetchedBatch; at: number }> = [];
  private readonly locks = new Map<string, Promise<void>>();
  private activeByPartition = new Map<string, number>();
  active = 0;
  maxActive = 0;
  maxActiveOnOnePartition = 0;

  handlers(member: string, options: { applyMs?: number; reject?: (batch: FetchedBatch) => boolean } = {}): BatchConsumerHandlers {
    return {
      startOffsets: async (assigned) => {
        this.startOffsetCalls.push(assigned);
        const answer = new Map<string, string>();
        for (const { topic, partition } of assigned) {
          const next = this.stored.get(`${topic}:${partition}`);
          if (next !== undefined) answer.set(`${topic}:${partition}`, next.toString());
        }
        return answer;
      },
      onBatch: async (batch) => {
        this.deliveries.push({ member, batch, at: Date.now() });
        const key = `${batch.topic}:${batch.partition}`;
        const onThisPartition = (this.activeByPartition.get(key) ?? 0) + 1;
        this.activeByPartition.set(key, onThisPartition);
        this.maxActiveOnOnePartition = Math.max(this.maxActiveOnOnePartition, onThisPartition);
        this.maxActive = Math.max(this.maxActive, ++this.active);
        try {
          if (options.applyMs) await sleep(options.applyMs);
          if (options.reject?.(batch)) throw new Error('refused on purpose');
          return await this.withLock(key, async () => {
            const stored = this.stored.get(key) ?? 0n;
            for (const r of batch.records) {
              if (BigInt(r.offset) < stored) continue;
              this.applied.push({ partition: batch.partition, offset: BigInt(r.offset), member, value: r.value?.toString() ?? '', headers: r.headers });
            }
            const next = BigInt(batch.records[batch.records.length - 1].offset) + 1n;
            this.stored.set(key, next > stored ? next : stored);
            return (next > stored ? next : stored).toString();
          });
        } finally {
          this.active--;
          this.activeByPartition.set(key, this.activeByPartition.get(key)! - 1);
        }
      },
    };
  }

  /** Offsets applied per partition, in application order. */
  offsets(partition: number): bigint[] {
    return this.applied.filter((a) => a.partition === partition).map((a) => a.offset);
  }

  private async withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.locks.set(key, previous.then(() => mine));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}

const range = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i));

describe('PlatformaticConsumerClient (real Kafka)', () => {
  const suite = new TestSuite();
  const clients: Array<{ stop(): Promise<void> }> = [];
  let seq = 0;

  const options = (topic: string, overrides: Partial<BatchConsumerClientOptions> = {}): BatchConsumerClientOptions => ({
    groupId: `${suite.id}-group-${++seq}`,
    topics: [suite.topic(topic)],
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    fetchMinBytes: 1,
    fetchMaxWaitMs: 100,
    // Small fetches: many batches per partition, so order and concurrency are exercised.
    maxBytesPerPartition: 4_096,
    partitionsConsumedConcurrently: 3,
    ...overrides,
  });

  const client = (o: BatchConsumerClientOptions): PlatformaticConsumerClient => {
    const c = new PlatformaticConsumerClient({ brokers: suite.kafkaBrokers.split(','), clientId: `${suite.id}-${seq}` }, o, logger);
    clients.push(c);
    return c;
  };

  /**
   * `perPartition` messages on each partition, sent 10 per partition at a time: many small record batches,
   * since a fetch returns at least one whole record batch whatever `maxBytesPerPartition` says.
   */
  async function produce(topic: string, partitions: number, perPartition: number, from = 0): Promise<void> {
    await ensureTopics(suite.kafka, { ...suite.kafkaSettings, defaultPartitions: partitions }, [suite.topic(topic)]);
    const producer = suite.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let start = 0; start < perPartition; start += 10) {
        const count = Math.min(10, perPartition - start);
        await producer.send({
          topic: suite.topic(topic),
          acks: -1,
          messages: Array.from({ length: partitions * count }, (_, i) => {
            const partition = i % partitions;
            const n = from + start + Math.floor(i / partitions);
            return { partition, key: `p${partition}`, value: JSON.stringify({ partition, n, pad: 'x'.repeat(200) }), headers: { 'x-n': String(n), 'x-rep': ['a', 'b'] } };
          }),
        });
      }
    } finally {
      await producer.disconnect();
    }
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop().catch(() => undefined)));
  });

  afterAll(async () => {
    await suite.cleanup();
  });

  it('applies every record once, in order per partition, one batch per partition at a time, partitions concurrently; commits only when told', async () => {
    await produce('order.v1', 3, 400);
    const ledger = new OffsetLedger();
    const o = options('order.v1');
    const consumer = client(o);
    await consumer.start(ledger.handlers('a', { applyMs: 5 }));
    expect(consumer.isHealthy()).toBe(true);
    await expectEventually(() => expect(ledger.applied).toHaveLength(1200), 60_000);
    for (const p of [0, 1, 2]) {
      expect(ledger.offsets(p)).toEqual(range(0, 400));
      const values = ledger.applied.filter((a) => a.partition === p).map((a) => JSON.parse(a.value) as { partition: number; n: number });
      expect(values.map((v) => v.n)).toEqual(range(0, 400).map(Number));
      expect(values.every((v) => v.partition === p)).toBe(true);
    }
    expect(ledger.applied[0].headers).toEqual({ 'x-n': '0', 'x-rep': 'a,b' });
    expect(ledger.deliveries.length).toBeGreaterThan(3 * 3); // several batches per partition
    expect(ledger.maxActiveOnOnePartition).toBe(1);
    expect(ledger.maxActive).toBeGreaterThan(1);
    expect(ledger.maxActive).toBeLessThanOrEqual(3);

    // No auto-commit: the group has no Kafka offsets until commit() is called.
    const admin = suite.kafka.admin();
    await admin.connect();
    try {
      const before = await admin.fetchOffsets({ groupId: o.groupId, topics: [suite.topic('order.v1')] });
      expect(before[0].partitions.map((p) => p.offset)).toEqual(['-1', '-1', '-1']);
      await consumer.commit(suite.topic('order.v1'), 1, '400');
      const after = await admin.fetchOffsets({ groupId: o.groupId, topics: [suite.topic('order.v1')] });
      expect(after[0].partitions.find((p) => p.partition === 1)?.offset).toBe('400');
    } finally {
      await admin.disconnect();
    }
    await consumer.stop();
    expect(consumer.isHealthy()).toBe(false);
  });

  it('starts each partition where startOffsets says, before any fetch (no batch below it is ever delivered), earliest when absent', async () => {
    await produce('start.v1', 2, 300);
    const ledger = new OffsetLedger();
    ledger.stored.set(`${suite.topic('start.v1')}:0`, 250n);
    const consumer = client(options('start.v1', { partitionsConsumedConcurrently: 2 }));
    await consumer.start(ledger.handlers('a'));
    await expectEventually(() => expect(ledger.applied).toHaveLength(50 + 300), 60_000);
    expect(ledger.startOffsetCalls).toEqual([[{ topic: suite.topic('start.v1'), partition: 0 }, { topic: suite.topic('start.v1'), partition: 1 }]]);
    const deliveredOffsets0 = ledger.deliveries.filter((d) => d.batch.partition === 0).flatMap((d) => d.batch.records.map((r) => BigInt(r.offset)));
    expect(deliveredOffsets0[0]).toBe(250n);
    expect(deliveredOffsets0).toEqual(range(250, 300));
    expect(ledger.offsets(1)).toEqual(range(0, 300));
  });

  it('delivers a rejected batch again from the last good offset after a backoff, while the other partitions go on', async () => {
    await produce('retry.v1', 2, 300);
    const ledger = new OffsetLedger();
    let refusals = 0;
    const refusedAt: number[] = [];
    const consumer = client(options('retry.v1', { partitionsConsumedConcurrently: 2 }));
    await consumer.start(
      ledger.handlers('a', {
        applyMs: 20,
        // The batch of partition 1 that holds offset 120 is refused three times.
        reject: (batch) => {
          const refuse = batch.partition === 1 && batch.records.some((r) => r.offset === '120') && refusals < 3;
          if (refuse) {
            refusals++;
            refusedAt.push(Date.now());
          }
          return refuse;
        },
      }),
    );
    await expectEventually(() => expect(ledger.applied).toHaveLength(600), 60_000);
    expect(refusals).toBe(3);
    expect(ledger.offsets(1)).toEqual(range(0, 300));
    expect(ledger.offsets(0)).toEqual(range(0, 300));
    // Each re-delivery starts where the applied batches ended: the first record after the last applied one.
    const p1 = ledger.deliveries.filter((d) => d.batch.partition === 1);
    const refused = p1.filter((d) => d.batch.records.some((r) => r.offset === '120'));
    expect(refused.length).toBeGreaterThanOrEqual(4);
    const firstOffsets = new Set(refused.slice(0, 4).map((d) => d.batch.records[0].offset));
    expect(firstOffsets.size).toBe(1);
    // Backoff: 200, 400, 800 ms between attempts (at least).
    expect(refusedAt[1] - refusedAt[0]).toBeGreaterThanOrEqual(190);
    expect(refusedAt[2] - refusedAt[1]).toBeGreaterThanOrEqual(390);
    // Partition 0 was applied while partition 1 was backing off.
    const p0During = ledger.deliveries.filter((d) => d.batch.partition === 0 && d.at > refusedAt[0] && d.at < refusedAt[2]);
    expect(p0During.length).toBeGreaterThan(0);
  });

  it('two members of one group: partitions rebalance as members join and leave, nothing applied twice, nothing lost', async () => {
    const topic = 'rebalance.v1';
    await produce(topic, 4, 150);
    const ledger = new OffsetLedger();
    const o = options(topic, { partitionsConsumedConcurrently: 2, maxBytesPerPartition: 2_048 });
    const a = client(o);
    await a.start(ledger.handlers('a', { applyMs: 20 }));
    await expectEventually(() => expect(ledger.applied.length).toBeGreaterThan(100), 60_000);
    const b = client({ ...o });
    await b.start(ledger.handlers('b', { applyMs: 20 }));
    // Keep producing while the group rebalances.
    await produce(topic, 4, 100, 150);
    await expectEventually(() => expect(new Set(ledger.applied.filter((x) => x.member === 'b').map((x) => x.partition)).size).toBeGreaterThan(0), 60_000);
    await a.stop();
    await produce(topic, 4, 100, 250);
    await expectEventually(() => expect(ledger.applied).toHaveLength(4 * 350), 90_000);
    for (const p of [0, 1, 2, 3]) expect(ledger.offsets(p)).toEqual(range(0, 350));
    // Both members applied, and after `a` left, `b` took over its partitions.
    expect(new Set(ledger.applied.map((x) => x.member))).toEqual(new Set(['a', 'b']));
    expect(new Set(ledger.applied.filter((x) => x.member === 'b').map((x) => x.partition))).toEqual(new Set([0, 1, 2, 3]));
    expect(ledger.maxActiveOnOnePartition).toBeLessThanOrEqual(2); // two members may overlap on a partition during a rebalance; the lock keeps them apart
  });

  it('shares a group with a kafkajs member (a deployment switching client): every record applied once', async () => {
    const topic = 'mixed.v1';
    await produce(topic, 4, 150);
    const ledger = new OffsetLedger();
    const o = options(topic, { partitionsConsumedConcurrently: 2, maxBytesPerPartition: 2_048 });
    const kafkajsMember = new KafkajsConsumerClient(suite.kafka, { ...o }, logger);
    clients.push(kafkajsMember);
    await kafkajsMember.start(ledger.handlers('kafkajs', { applyMs: 20 }));
    await expectEventually(() => expect(ledger.applied.length).toBeGreaterThan(100), 60_000);
    const platformaticMember = client({ ...o });
    await platformaticMember.start(ledger.handlers('platformatic', { applyMs: 20 }));
    await produce(topic, 4, 100, 150);
    await expectEventually(() => expect(ledger.applied).toHaveLength(4 * 250), 90_000);
    for (const p of [0, 1, 2, 3]) expect(ledger.offsets(p)).toEqual(range(0, 250));
    expect(new Set(ledger.applied.map((x) => x.member))).toEqual(new Set(['kafkajs', 'platformatic']));
  });
});
