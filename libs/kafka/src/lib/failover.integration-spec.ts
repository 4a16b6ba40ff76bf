import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { dlqTopicFor } from '@tally/contracts';
import { openServiceDataSource } from '@tally/postgres';
import { expectEventually, TestSuite } from '@tally/testing';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';
import { CreateAppliedMessages1732400009000 } from '../test-support/applied-messages.migration';
import { CRASH_TEST_TOPIC } from '../test-support/recording-consumer';

const ROOT = path.resolve(__dirname, '../../../..');
/** The group session under test; FAILOVER_SESSION_TIMEOUT_MS=30000 measures the services' default. */
const SESSION_MS = Number(process.env.FAILOVER_SESSION_TIMEOUT_MS ?? 6_000);

/**
 * How long a SIGKILLed member's partitions stall: two consumer processes share a 2-partition topic while a
 * trickle of messages (each carrying its send time) flows; one is killed; the worst send-to-apply latency
 * of the messages sent afterwards is the stall. The survivor takes the partition over once the broker
 * expires the dead member's session, so the stall is bounded by the session timeout plus a rebalance.
 */
describe('failover after a SIGKILL (real Kafka + Postgres, processes)', () => {
  const suite = new TestSuite();
  const children = new Set<ChildProcess>();
  let dataSource: DataSource;
  const schema = () => suite.schema('plumbing');

  beforeAll(async () => {
    await suite.createTopics([CRASH_TEST_TOPIC, dlqTopicFor(CRASH_TEST_TOPIC), 'plumbing.derived.v1']);
    dataSource = await openServiceDataSource({ url: suite.databaseUrl, schema: schema(), migrations: [...KAFKA_PLUMBING_MIGRATIONS, CreateAppliedMessages1732400009000] });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await dataSource?.destroy();
    await suite.cleanup();
  });

  const consumer = (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(__dirname, '../test-support/crash-consumer.process.ts')], {
      cwd: ROOT,
      env: { ...process.env, TEST_SCHEMA: schema(), TEST_PREFIX: suite.topicPrefix, TEST_GROUP: `${suite.id}-failover`, LOG_LEVEL: 'error', SESSION_TIMEOUT_MS: String(SESSION_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('consuming') && resolve(child));
      child.once('exit', (code) => reject(new Error(`consumer exited with ${code}`)));
    });
  };

  it(`a killed member's partitions resume within the session timeout (${SESSION_MS} ms) plus a rebalance, nothing lost or doubled`, async () => {
    const a = await consumer();
    await consumer();
    let n = 0;
    let trickling = true;
    // 20 messages/s over keys that cover both partitions.
    const trickle = (async () => {
      while (trickling) {
        const sentAt = Date.now();
        await suite.produce(CRASH_TEST_TOPIC, [0, 1].map((k) => ({ key: `customer-${n + k}`, value: { n: n + k, sentAt } })));
        n += 2;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const latencies = async (sinceMs: number) =>
      suite.query<{ partition: number; worst: number; rows: string; distinct: string }>(
        `SELECT partition, max(extract(epoch FROM applied_at) * 1000 - (body::jsonb->>'sentAt')::float8)::float8 AS worst,
                count(*) AS rows, count(DISTINCT "offset") AS distinct
         FROM "${schema()}".applied_messages WHERE (body::jsonb->>'sentAt')::bigint >= $1 GROUP BY partition ORDER BY partition`,
        [sinceMs],
      );
    try {
      // Both members own a partition once the join rebalance settled: both partitions flow fast.
      await expectEventually(async () => {
        const recent = await latencies(Date.now() - 2_000);
        expect(recent.map((r) => r.partition)).toEqual([0, 1]);
        expect(recent.every((r) => r.worst < 1_000)).toBe(true);
      }, 90_000, 500);
      const killedAt = Date.now();
      a.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, SESSION_MS + 15_000));
      trickling = false;
      await trickle;
      const sent = n;
      await expectEventually(async () => {
        const [{ rows }] = await suite.query<{ rows: string }>(`SELECT count(DISTINCT (partition, "offset")) AS rows FROM "${schema()}".applied_messages`);
        expect(Number(rows)).toBe(sent);
      }, 60_000);
      const [{ doubled }] = await suite.query<{ doubled: string }>(
        `SELECT count(*) AS doubled FROM (SELECT 1 FROM "${schema()}".applied_messages GROUP BY partition, "offset" HAVING count(*) > 1) d`,
      );
      expect(Number(doubled)).toBe(0);
      const after = await latencies(killedAt);
      const stall = Math.max(...after.map((r) => r.worst));
      const healthy = Math.min(...after.map((r) => r.worst));
      process.stdout.write(
        `[failover] session timeout ${SESSION_MS} ms: worst send-to-apply latency after the SIGKILL ${Math.round(stall)} ms on the orphaned partition, ${Math.round(healthy)} ms on the survivor's own\n`,
      );
      // Bounded: the session expiry, one rebalance (heartbeat interval, rejoin) and the first batch.
      expect(stall).toBeLessThan(SESSION_MS + 10_000);
    } finally {
      trickling = false;
      await trickle;
    }
  });
});
