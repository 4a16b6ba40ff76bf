import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { dlqTopicFor } from '@tally/contracts';
import { openServiceDataSource } from '@tally/postgres';
import { expectEventually, TestSuite } from '@tally/testing';
import { JsonLogger } from '@tally/telemetry';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';
import { KafkajsEventProducer } from './event-producer';
import { OutboxRelay } from './outbox-relay';
import { CreateAppliedMessages1732400009000 } from '../test-support/applied-messages.migration';
import { CRASH_TEST_TOPIC, DIRECT_TEST_TOPIC, recordingConsumer, TEST_TOPIC } from '../test-support/recording-consumer';

const ROOT = path.resolve(__dirname, '../../../..');
const FATAL_TEST_TOPIC = 'plumbing.fatal.v1';

async function appliedCounts(suite: TestSuite, schema: string): Promise<{ rows: number; distinct: number; maxPerMessage: number }> {
  const [r] = await suite.query<{ rows: string; distinct: string; max: string | null }>(
    `SELECT count(*) AS rows, count(DISTINCT (partition, "offset")) AS distinct,
            (SELECT max(c) FROM (SELECT count(*) AS c FROM "${schema}".applied_messages GROUP BY partition, "offset") x) AS max
     FROM "${schema}".applied_messages`,
  );
  return { rows: Number(r.rows), distinct: Number(r.distinct), maxPerMessage: Number(r.max ?? 0) };
}

function messages(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({ key: `customer-${(from + i) % 7}`, value: { n: from + i } }));
}

describe('ExactlyOnceConsumer (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const children = new Set<ChildProcess>();
  let dataSource: DataSource;

  beforeAll(async () => {
    await suite.createTopics([TEST_TOPIC, CRASH_TEST_TOPIC, DIRECT_TEST_TOPIC, dlqTopicFor(TEST_TOPIC), dlqTopicFor(CRASH_TEST_TOPIC), dlqTopicFor(DIRECT_TEST_TOPIC), FATAL_TEST_TOPIC, dlqTopicFor(FATAL_TEST_TOPIC), 'plumbing.derived.v1']);
    dataSource = await openServiceDataSource({
      url: suite.databaseUrl,
      schema: suite.schema('plumbing'),
      migrations: [...KAFKA_PLUMBING_MIGRATIONS, CreateAppliedMessages1732400009000],
    });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await dataSource?.destroy();
    await suite.cleanup();
  });

  beforeEach(async () => {
    await dataSource.query(`TRUNCATE "${suite.schema('plumbing')}".applied_messages, "${suite.schema('plumbing')}".outbox`);
  });

  it('rolls back a batch that fails after its writes and applies it exactly once on retry; bad messages go to the DLQ', async () => {
    const group = `${suite.id}-rollback`;
    let failuresLeft = 3;
    const consumer = recordingConsumer(dataSource, suite.kafkaSettings, group, {
      beforeCommit: () => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('injected failure after the handler wrote, before commit');
        }
      },
    });
    const dlq = await suite.collect([dlqTopicFor(TEST_TOPIC)]);
    const producer = new KafkajsEventProducer(suite.kafka);
    await producer.connect();
    const relay = new OutboxRelay(dataSource, producer, new JsonLogger('plumbing-test', undefined, 'warn'), { idleMs: 50 });
    relay.start();
    await suite.produce(TEST_TOPIC, [...messages(100), { key: 'bad', value: 'not json {' }, { key: 'bad', value: { poison: true } }, ...messages(100, 100)]);
    await consumer.start();
    try {
      await expectEventually(async () => expect((await appliedCounts(suite, suite.schema('plumbing'))).distinct).toBe(201), 60_000);
      const counts = await appliedCounts(suite, suite.schema('plumbing'));
      expect(failuresLeft).toBe(0);
      // 200 good messages + the poison pill (applied by the handler, which then dead-letters it); the
      // unparseable one never reaches the handler. Nothing twice.
      expect(counts).toEqual({ rows: 201, distinct: 201, maxPerMessage: 1 });
      await expectEventually(() => expect(dlq.on(dlqTopicFor(TEST_TOPIC))).toHaveLength(2), 30_000);
      const reasons = dlq.on<{ reason: string; value: string; source: { offset: string } }>(dlqTopicFor(TEST_TOPIC)).map((m) => m.value);
      expect(reasons.map((r) => r.reason).sort()).toEqual([expect.stringMatching(/^poison pill$/), expect.stringMatching(/^value is not JSON/)].sort());
      expect(reasons.find((r) => r.reason.startsWith('value is not JSON'))?.value).toBe('not json {');
      const stored = await suite.query<{ sum: string }>(
        `SELECT sum(next_offset) AS sum FROM "${suite.schema('plumbing')}".consumer_offsets WHERE group_id = $1`,
        [group],
      );
      expect(Number(stored[0].sum)).toBe(202);
    } finally {
      await consumer.stop();
      await relay.stop();
      await producer.disconnect();
    }
  });

  it('direct delivery: derived events are acknowledged before the offsets are stored, so a failed commit resends them and never loses one', async () => {
    const group = `${suite.id}-direct`;
    let failuresLeft = 2;
    const producer = new KafkajsEventProducer(suite.kafka);
    await producer.connect();
    const consumer = recordingConsumer(
      dataSource,
      suite.kafkaSettings,
      group,
      {
        beforeCommit: () => {
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw new Error('injected failure after the derived events were sent, before commit');
          }
        },
      },
      DIRECT_TEST_TOPIC,
      producer,
    );
    const out = await suite.collect(['plumbing.derived.v1', dlqTopicFor(DIRECT_TEST_TOPIC)]);
    await suite.produce(DIRECT_TEST_TOPIC, [...messages(60, 5000), { key: 'bad', value: { poison: true, n: 6000 } }]);
    await consumer.start();
    try {
      await expectEventually(async () => expect((await appliedCounts(suite, suite.schema('plumbing'))).distinct).toBe(61), 60_000);
      // The handler's Postgres writes are exactly once, as with the outbox.
      expect(await appliedCounts(suite, suite.schema('plumbing'))).toEqual({ rows: 61, distinct: 61, maxPerMessage: 1 });
      expect(failuresLeft).toBe(0);
      const derived = () => out.on<{ eventId: string; source: { n: number } }>('plumbing.derived.v1').filter((m) => m.value.source.n >= 5000);
      await expectEventually(() => expect(new Set(derived().map((m) => m.value.source.n)).size).toBe(60), 30_000);
      // Every message's derived event arrived; the batches whose commit failed sent theirs again (same content).
      expect(derived().length).toBeGreaterThan(60);
      const dlq = () => out.on<{ reason: string }>(dlqTopicFor(DIRECT_TEST_TOPIC));
      await expectEventually(() => expect(dlq().length).toBeGreaterThanOrEqual(1), 30_000);
      expect(dlq().every((m) => m.value.reason === 'poison pill')).toBe(true);
      // Nothing went through the outbox.
      const [{ rows }] = await suite.query<{ rows: number }>(`SELECT count(*)::int AS rows FROM "${suite.schema('plumbing')}".outbox`);
      expect(rows).toBe(0);
    } finally {
      await consumer.stop();
      await producer.disconnect();
    }
  });

  it('keeps consuming after an error kafkajs calls non-retriable (e.g. a produce error in a direct send): the batch is retried', async () => {
    const group = `${suite.id}-fatal`;
    let failuresLeft = 1;
    const consumer = recordingConsumer(dataSource, suite.kafkaSettings, group, {
      beforeCommit: () => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          // What kafkajs' retrier throws when a produce fails for good (it bails on retriable === false).
          throw new KafkaJSNonRetriableError(new KafkaJSError('The broker received an out of order sequence number', { retriable: false }));
        }
      },
    }, FATAL_TEST_TOPIC);
    await suite.produce(FATAL_TEST_TOPIC, messages(30, 7000));
    await consumer.start();
    try {
      await expectEventually(async () => expect((await appliedCounts(suite, suite.schema('plumbing'))).distinct).toBe(30), 60_000);
      expect(await appliedCounts(suite, suite.schema('plumbing'))).toEqual({ rows: 30, distinct: 30, maxPerMessage: 1 });
      expect(failuresLeft).toBe(0);
      expect(consumer.isHealthy()).toBe(true);
    } finally {
      await consumer.stop();
    }
  });

  it('never loses or doubles a message when the process is SIGKILLed inside the transaction or between the Postgres and Kafka commits', async () => {
    const group = `${suite.id}-crash`;
    const run = (env: Record<string, string>): ChildProcess => {
      const child = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(__dirname, '../test-support/crash-consumer.process.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          TEST_SCHEMA: suite.schema('plumbing'),
          TEST_PREFIX: suite.topicPrefix,
          TEST_GROUP: group,
          LOG_LEVEL: 'error',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.add(child);
      return child;
    };
    const exit = (child: ChildProcess) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

    await suite.produce(CRASH_TEST_TOPIC, messages(300, 1000));

    // 1. Killed after the Postgres commit of its first batch, before the Kafka commit: the batch is
    //    fetched again by the next process and must be skipped, not applied again.
    const afterCommit = run({ CRASH_AT: 'afterCommit', CRASH_ON_BATCH: '1' });
    expect((await exit(afterCommit)).signal).toBe('SIGKILL');
    const afterFirstCrash = await appliedCounts(suite, suite.schema('plumbing'));
    expect(afterFirstCrash.rows).toBeGreaterThan(0);
    expect(afterFirstCrash.maxPerMessage).toBe(1);

    // 2. Killed inside the transaction of its first batch, after the handler's writes: Postgres rolls
    //    the whole batch back, offsets included.
    const beforeCommit = run({ CRASH_AT: 'beforeCommit', CRASH_ON_BATCH: '1' });
    expect((await exit(beforeCommit)).signal).toBe('SIGKILL');
    expect(await appliedCounts(suite, suite.schema('plumbing'))).toEqual(afterFirstCrash);

    // 3. A healthy process finishes the work: every message exactly once.
    const healthy = run({});
    try {
      await expectEventually(async () => expect((await appliedCounts(suite, suite.schema('plumbing'))).distinct).toBe(300), 90_000, 250);
      expect(await appliedCounts(suite, suite.schema('plumbing'))).toEqual({ rows: 300, distinct: 300, maxPerMessage: 1 });
    } finally {
      healthy.kill('SIGTERM');
      await exit(healthy);
    }
  });
});
